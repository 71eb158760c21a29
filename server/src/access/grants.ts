import type { Credential, ExtendBody, GrantEndReason } from '@stint/contract';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { appendAudit } from '../audit/chain';
import { SYSTEM_ACTOR, type Principal } from '../auth/principal';
import { appendEvents, appendLogs, type LoggedEvent } from '../events/log';
import type { Database, GrantRow } from '../store/schema';
import { ApiProblem, GRANT_VIEW_COLUMNS, notFound, toGrant, type AccessContext } from './context';
import { createRequest } from './requests';
import { revokeAll, runRevocation } from './revocation';
import { endReadyGrants } from './start';
import { moveGrants, moveRequests } from './transitions';
import { loadGrant, reviewsFor, stateChangeEffects } from './views';

type ExtendInput = z.output<typeof ExtendBody>;


/**
 * Ends an active grant for a reason: from then on its credential cannot be read, its requests
 * are over, and the provider revocation is queued (and tried at once by the caller).
 */
async function endGrants(ctx: AccessContext, ids: readonly string[], reason: GrantEndReason, actor: string, detail: Record<string, unknown> = {}): Promise<GrantRow[]> {
  const now = ctx.now();
  let events: LoggedEvent[] = [];
  const ended = await ctx.store.db.transaction().execute(async (trx) => {
    // The state check makes ending idempotent across replicas: a grant leaves "active" once.
    const rows = await moveGrants(trx, { ids }, 'active', 'revoking', { end_reason: reason, ended_at: now, credential_sealed: null, next_attempt_at: now, lease_owner: null, lease_until: null });
    if (rows.length === 0) return rows;
    const requests = await moveRequests(trx, { grantIds: rows.map((r) => r.id) }, 'active', reason === 'expired' ? 'expired' : 'revoked', { updated_at: now });
    const reviews = await reviewsFor(trx, requests.map((r) => r.id));
    const effects = requests.map((r) => stateChangeEffects(r, reviews, actor));
    events = await appendLogs(ctx.store, trx, now, [
      ...rows.map((g) => ({ actor, action: `grant.${reason}`, targetType: 'grant', targetId: g.id, detail: { systemId: g.system_id, grantee: g.grantee_sub, ...detail } })),
      ...effects.map((e) => e.audit),
    ], [
      ...rows.map((g) => ({ audience: { subs: [g.grantee_sub], groups: [], notSubs: [] }, event: { type: 'grant.ended' as const, grant: toGrant(g) } })),
      ...effects.flatMap((e) => e.events),
    ]);
    return rows;
  });
  for (let i = 0; i < ended.length; i++) ctx.metrics.grantsEnded.inc({ reason });
  if (ended.length > 0) ctx.eventsCommitted(events);
  return ended;
}

/** Grants past their deadline end now; returns how many. Called by the sweeper. */
export async function expireDueGrants(ctx: AccessContext, limit = 500): Promise<number> {
  const due = await ctx.store.db.selectFrom('grants').select('id').where('state', '=', 'active').where('expires_at', '<=', ctx.now()).orderBy('expires_at').limit(limit).execute();
  if (due.length === 0) return 0;
  const ended = await endGrants(ctx, due.map((d) => d.id), 'expired', SYSTEM_ACTOR);
  await revokeAll(ctx, ended.map((g) => g.id));
  return ended.length;
}

/** Tells grantees their grant ends soon, once per grant (and again after an extension). */
export async function noticeExpiringGrants(ctx: AccessContext): Promise<number> {
  const now = ctx.now();
  const horizon = now + ctx.config().expiringNotice * 1000;
  let events: LoggedEvent[] = [];
  const count = await ctx.store.db.transaction().execute(async (trx) => {
    const rows = await trx
      .updateTable('grants')
      .set({ warned: 1 })
      .where('state', '=', 'active')
      .where('warned', '=', 0)
      .where('expires_at', '<=', horizon)
      .where('expires_at', '>', now)
      .returningAll()
      .execute();
    events = await appendEvents(ctx.store, trx, now, rows.map((g) => ({
      audience: { subs: [g.grantee_sub], groups: [], notSubs: [] },
      event: { type: 'grant.expiring' as const, grant: toGrant(g), secondsLeft: Math.max(0, Math.round((g.expires_at - now) / 1000)) },
    })));
    return rows.length;
  });
  if (count > 0) ctx.eventsCommitted(events);
  return count;
}

function assertGrantee(grant: GrantRow | undefined, user: Principal, id: string): asserts grant is GrantRow {
  if (!grant || grant.grantee_sub !== user.sub) throw notFound('grant', id);
}

/** POST /v1/grants/:id/release: the grantee is done early. */
export async function releaseGrant(ctx: AccessContext, user: Principal, id: string) {
  const grant = await ctx.store.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
  assertGrantee(grant, user, id);
  if (grant.state === 'ready') {
    // Not started: there is no credential to revoke; the approval ends here.
    await endReadyGrants(ctx, [id], 'released', user.sub);
    return (await loadGrant(ctx.store.db, id))!;
  }
  if (grant.state !== 'active') throw new ApiProblem(409, 'grant_not_active', `This grant is already ${grant.state === 'issuing' ? 'being issued' : 'over'}.`);
  await endGrants(ctx, [id], 'released', user.sub);
  await runRevocation(ctx, id);
  return (await loadGrant(ctx.store.db, id))!;
}

/** POST /v1/grants/:id/revoke: an admin ends someone's grant. */
export async function revokeGrant(ctx: AccessContext, admin: Principal, id: string, reason: string) {
  if (!admin.isAdmin) throw new ApiProblem(403, 'not_an_admin', 'Only Stint admins may revoke a grant.');
  const grant = await ctx.store.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
  if (!grant) throw notFound('grant', id);
  if (grant.state === 'ready') {
    await endReadyGrants(ctx, [id], 'revoked', admin.sub);
    return (await loadGrant(ctx.store.db, id))!;
  }
  if (grant.state !== 'active') throw new ApiProblem(409, 'grant_not_active', 'This grant is already over.');
  await endGrants(ctx, [id], 'revoked', admin.sub, { reason });
  await runRevocation(ctx, id);
  return (await loadGrant(ctx.store.db, id))!;
}

/** POST /v1/grants/:id/extend: a new request, under the same policy, that moves the deadline. */
export async function extendGrant(ctx: AccessContext, user: Principal, id: string, input: ExtendInput) {
  const grant = await ctx.store.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
  assertGrantee(grant, user, id);
  if (grant.state !== 'active' || grant.expires_at <= ctx.now()) throw new ApiProblem(409, 'grant_not_active', 'This grant is over; request new access instead.');
  // More time for the same work: the grant's own reason and ticket stand unless new ones are
  // given, so a policy that asks for them (a ticket pattern, a required reason) is met as it
  // was, from every client (the tray, a reminder, the CLI) without asking again.
  const original = await ctx.store.db.selectFrom('requests').select(['reason', 'ticket']).where('id', '=', grant.request_id).executeTakeFirst();
  const reason = input.reason || original?.reason || '';
  const ticket = input.ticket ?? original?.ticket ?? undefined;
  return createRequest(ctx, user, { systemId: grant.system_id, durationSeconds: input.durationSeconds, reason, ticket, breakGlass: false, extendsGrantId: id });
}

/** GET /v1/grants/:id/credential: the grantee alone, while active; every read is audited. */
export async function readCredential(ctx: AccessContext, user: Principal, id: string): Promise<Credential> {
  const grant = await ctx.store.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
  assertGrantee(grant, user, id);
  const now = ctx.now();
  if (grant.state === 'ready') throw new ApiProblem(409, 'not_started', 'This grant waits for you to start it; it has no credential until then (Start on its card, or: stint start).');
  if (grant.state !== 'active' || grant.expires_at <= now || !grant.credential_sealed) {
    throw new ApiProblem(410, 'grant_not_active', 'This grant is not active, so its credential is gone; request access again.');
  }
  const { fields, env } = JSON.parse(ctx.sealer.open(grant.credential_sealed, grant.id)) as Pick<Credential, 'fields' | 'env'>;
  await ctx.store.db.transaction().execute((trx) =>
    appendAudit(ctx.store, trx, now, [{ actor: user.sub, action: 'credential.read', targetType: 'grant', targetId: id, detail: { systemId: grant.system_id } }]),
  );
  ctx.metrics.credentialReads.inc();
  return { grantId: grant.id, systemId: grant.system_id, expiresAt: new Date(grant.expires_at).toISOString(), fields, env };
}

export type GrantListQuery = { scope: 'mine' | 'all'; active?: 'true' | 'false' | undefined; limit: number };

/** Everyone may list their own grants; only admins and auditors may list every grant. */
export function mayListGrants(user: Principal, scope: GrantListQuery['scope']): void {
  if (scope === 'all' && !user.isAdmin && !user.isAuditor) throw new ApiProblem(403, 'not_an_auditor', 'Only admins and auditors may list every grant.');
}

/** A listing a person may read, as a query not yet run (see GrantListings, which runs it). */
export function grantListQuery(db: Kysely<Database>, user: Principal, query: GrantListQuery) {
  mayListGrants(user, query.scope);
  let q = db.selectFrom('grants').select(GRANT_VIEW_COLUMNS).orderBy('starts_at', 'desc').limit(query.limit);
  if (query.scope === 'mine') q = q.where('grantee_sub', '=', user.sub);
  if (query.active === 'true') q = q.where('state', 'in', ['ready', 'issuing', 'active']);
  if (query.active === 'false') q = q.where('state', 'in', ['revoking', 'ended']);
  return q;
}

export async function countRevoking(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('grants').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'revoking').executeTakeFirst();
  return Number(row?.n ?? 0);
}
