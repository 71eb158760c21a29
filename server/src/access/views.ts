// Reading requests and grants as the API shows them, and what a request's change of state
// tells people and the audit log. Shared by requests, grants and activation (which do not
// import each other for it).
import type { AccessRequest, StintEvent } from '@stint/contract';
import { sql, type Kysely } from 'kysely';
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

/** How far back a reviewer sees the requester's requests for the same system. */
export const RECENT_REQUESTS_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * For reviewers, by request id: how many requests its requester made for the same system in
 * the 30 days before it (AccessRequest.recentRequests). One query for a whole listing, on the
 * (requester_sub, system_id, created_at) index.
 */
export async function recentRequestCounts(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map(ids.map((id) => [id, 0]));
  if (ids.length === 0) return counts;
  const rows = await db
    .selectFrom('requests as r')
    .innerJoin('requests as e', (join) =>
      join
        .onRef('e.requester_sub', '=', 'r.requester_sub')
        .onRef('e.system_id', '=', 'r.system_id')
        .onRef('e.created_at', '<', 'r.created_at')
        .on('e.created_at', '>=', sql<number>`${sql.ref('r.created_at')} - ${RECENT_REQUESTS_MS}`),
    )
    .select((eb) => ['r.id', eb.fn.countAll<number | string>().as('n')])
    .where('r.id', 'in', [...ids])
    .groupBy('r.id')
    .execute();
  for (const row of rows) counts.set(row.id, Number(row.n));
  return counts;
}

/** A request as its reviewers are shown it: with the requester's recent history for the system. */
export const forReviewers = (request: AccessRequest, counts: ReadonlyMap<string, number>): AccessRequest => ({ ...request, recentRequests: counts.get(request.id) ?? 0 });

/** A request's requester as a provider sees them. */
export function personOf(row: RequestRow) {
  return { sub: row.requester_sub, login: row.requester_login ?? row.requester_sub, name: row.requester_name, email: row.requester_email, groups: parseList(row.requester_groups) };
}

/**
 * Events and audit records that a change of a request's state produces. `recentCounts`
 * (recentRequestCounts) goes into what the reviewers are told, where the caller has it.
 */
export function stateChangeEffects(row: RequestRow, reviews: readonly ReviewRow[], actor: string, detail: Record<string, unknown> = {}, recentCounts?: ReadonlyMap<string, number>) {
  const view = toAccessRequest(row, reviews);
  const events: { audience: Audience; event: StintEvent }[] = [{ audience: requesterAudience(row), event: { type: 'request.updated', request: view } }];
  if (row.approvals_required > 0) events.push({ audience: reviewerAudience(row), event: { type: 'review.updated', request: recentCounts ? forReviewers(view, recentCounts) : view } });
  const audit: AuditRecord = { actor, action: `request.${row.state}`, targetType: 'request', targetId: row.id, detail: { systemId: row.system_id, ...detail } };
  return { view, events, audit };
}
