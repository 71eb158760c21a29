// Reading requests and grants as the API shows them, and what a request's change of state
// tells people and the audit log. Shared by requests, grants and activation (which do not
// import each other for it).
import type { StintEvent } from '@stint/contract';
import type { Kysely } from 'kysely';
import type { AuditRecord } from '../audit/chain';
import type { Audience } from '../events/log';
import type { Database, RequestRow, ReviewRow } from '../store/schema';
import { parseList, requesterAudience, reviewerAudience, toAccessRequest, toGrant } from './context';

export async function reviewsFor(db: Kysely<Database>, requestIds: readonly string[]): Promise<ReviewRow[]> {
  if (requestIds.length === 0) return [];
  return db.selectFrom('reviews').selectAll().where('request_id', 'in', requestIds).orderBy('created_at').execute();
}

export async function loadRequestView(db: Kysely<Database>, id: string) {
  const row = await db.selectFrom('requests').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toAccessRequest(row, await reviewsFor(db, [id])) : undefined;
}

export async function loadGrant(db: Kysely<Database>, id: string) {
  const row = await db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toGrant(row) : null;
}

/** A request's requester as a provider sees them. */
export function personOf(row: RequestRow) {
  return { sub: row.requester_sub, login: row.requester_login ?? row.requester_sub, name: row.requester_name, email: row.requester_email, groups: parseList(row.requester_groups) };
}

/** Events and audit records that a change of a request's state produces. */
export function stateChangeEffects(row: RequestRow, reviews: readonly ReviewRow[], actor: string, detail: Record<string, unknown> = {}) {
  const view = toAccessRequest(row, reviews);
  const events: { audience: Audience; event: StintEvent }[] = [{ audience: requesterAudience(row), event: { type: 'request.updated', request: view } }];
  if (row.approvals_required > 0) events.push({ audience: reviewerAudience(row), event: { type: 'review.updated', request: view } });
  const audit: AuditRecord = { actor, action: `request.${row.state}`, targetType: 'request', targetId: row.id, detail: { systemId: row.system_id, ...detail } };
  return { view, events, audit };
}
