// Start when ready (issue 21): an approved grant that waits, without a credential, for its
// requester to start it within the system's start window, or for the start time its request
// named (a maintenance window). Its countdown begins when it starts; one not started in time
// ends unstarted, with an audit row and a notice.
import { randomUUID } from 'node:crypto';
import { appendAudit } from '../audit/chain';
import { SYSTEM_ACTOR, type Principal } from '../auth/principal';
import { appendLogs, type LoggedEvent } from '../events/log';
import { forUpdate } from '../store/database';
import type { GrantEndReason } from '@stint/contract';
import type { Kysely } from 'kysely';
import type { Database, GrantRow, RequestRow, ReviewRow } from '../store/schema';
import { ApiProblem, notFound, requesterAudience, toGrant, type AccessContext } from './context';
import { ISSUE_LEASE_MS, issueGrant } from './activation';
import { moveGrants, moveRequests } from './transitions';
import { loadRequestView, reviewsFor, stateChangeEffects } from './views';

/**
 * After the commit that claimed a ready grant: the requester is told (grant.ready) and the audit
 * log says it waits, and until when. Answers the request and grant as they are now.
 */
export async function announceReady(ctx: AccessContext, grant: GrantRow) {
  const now = ctx.now();
  const events = await ctx.store.db.transaction().execute(async (trx) => {
    const detail = { systemId: grant.system_id, grantee: grant.grantee_sub, ...(grant.start_by === null ? { startAt: new Date(grant.starts_at).toISOString() } : { startBy: new Date(grant.start_by).toISOString() }) };
    return appendLogs(ctx.store, trx, now, [{ actor: SYSTEM_ACTOR, action: 'grant.ready', targetType: 'grant', targetId: grant.id, detail }], [
      { audience: requesterAudience({ requester_sub: grant.grantee_sub }), event: { type: 'grant.ready', grant: toGrant(grant) } },
    ]);
  });
  ctx.eventsCommitted(events);
  return { request: (await loadRequestView(ctx.store.db, grant.request_id))!, grant: toGrant(grant) };
}

/** Issues a claimed grant, or, when it waits to be started, says so. */
export function issueOrAnnounce(ctx: AccessContext, grant: GrantRow, request: RequestRow, reviews?: readonly ReviewRow[]) {
  return grant.state === 'ready' ? announceReady(ctx, grant) : issueGrant(ctx, grant, request, reviews);
}

/**
 * ready -> issuing with the countdown from `from`, inside the caller's transaction; null when it
 * was not ready any more. Started by its requester, the countdown runs from now; a scheduled
 * one keeps the window its approvers approved (from its start time), however late the sweeper.
 */
async function begin(ctx: AccessContext, trx: Kysely<Database>, grant: GrantRow, request: RequestRow, actor: string, now: number, from = now) {
  const [started] = await moveGrants(trx, { ids: [grant.id] }, 'ready', 'issuing', {
    starts_at: from,
    expires_at: from + request.duration_seconds * 1000,
    start_by: null,
    lease_owner: `${ctx.replicaId}/${randomUUID()}`,
    lease_until: now + ISSUE_LEASE_MS,
  });
  if (!started) return null;
  await appendAudit(ctx.store, trx, now, [{ actor, action: 'grant.started', targetType: 'grant', targetId: grant.id, detail: { systemId: grant.system_id, grantee: grant.grantee_sub, expiresAt: new Date(started.expires_at).toISOString() } }]);
  return started;
}

/** POST /v1/grants/:id/start: the requester is ready; the countdown starts now and the credential is issued. */
export async function startGrant(ctx: AccessContext, user: Principal, id: string) {
  const now = ctx.now();
  const started = await ctx.store.db.transaction().execute(async (trx) => {
    const grant = await forUpdate(ctx.store, trx.selectFrom('grants').selectAll().where('id', '=', id)).executeTakeFirst();
    if (!grant || grant.grantee_sub !== user.sub) throw notFound('grant', id);
    if (grant.state !== 'ready') throw new ApiProblem(409, 'not_ready', grant.state === 'ended' ? 'This grant is over; ask again.' : 'This grant has already started.');
    if (grant.start_by === null) {
      throw new ApiProblem(409, 'scheduled', `This grant starts by itself at ${new Date(grant.starts_at).toISOString()}, the time you asked for.`);
    }
    if (grant.start_by <= now) throw new ApiProblem(409, 'start_window_passed', 'The time to start this grant has passed; ask again.');
    const request = (await trx.selectFrom('requests').selectAll().where('id', '=', grant.request_id).executeTakeFirst())!;
    const moved = await begin(ctx, trx, grant, request, user.sub, now);
    if (!moved) throw new ApiProblem(409, 'not_ready', 'This grant has already started.');
    return { grant: moved, request };
  });
  return issueGrant(ctx, started.grant, started.request);
}

/** Ready grants whose named start time has come start now (the sweeper, on any replica). */
export async function startScheduledGrants(ctx: AccessContext, limit = 100): Promise<number> {
  const now = ctx.now();
  const due = await ctx.store.db.selectFrom('grants').select('id').where('state', '=', 'ready').where('start_by', 'is', null).where('starts_at', '<=', now).limit(limit).execute();
  let count = 0;
  for (const { id } of due) {
    const started = await ctx.store.db.transaction().execute(async (trx) => {
      const grant = await forUpdate(ctx.store, trx.selectFrom('grants').selectAll().where('id', '=', id)).executeTakeFirst();
      if (!grant || grant.state !== 'ready') return null;
      const request = (await trx.selectFrom('requests').selectAll().where('id', '=', grant.request_id).executeTakeFirst())!;
      const moved = await begin(ctx, trx, grant, request, SYSTEM_ACTOR, now, grant.starts_at);
      return moved && { grant: moved, request };
    });
    if (!started) continue;
    count++;
    await issueGrant(ctx, started.grant, started.request).catch((error: unknown) => ctx.log.warn({ grantId: id, err: (error as Error).message }, 'a scheduled grant could not be issued at its start; the sweeper retries'));
  }
  return count;
}

/**
 * Ends ready grants without a credential: past their start window (unstarted, by the sweeper),
 * or released or revoked before they started. Their requests end with them.
 */
export async function endReadyGrants(ctx: AccessContext, ids: readonly string[], reason: Extract<GrantEndReason, 'unstarted' | 'released' | 'revoked'>, actor: string): Promise<number> {
  if (ids.length === 0) return 0;
  const now = ctx.now();
  let events: LoggedEvent[] = [];
  const ended = await ctx.store.db.transaction().execute(async (trx) => {
    const rows = await moveGrants(trx, { ids }, 'ready', 'ended', { end_reason: reason, ended_at: now });
    if (rows.length === 0) return rows;
    const requests = await moveRequests(trx, { grantIds: rows.map((r) => r.id) }, 'approved', reason === 'unstarted' ? 'expired' : 'revoked', { updated_at: now });
    const reviews = await reviewsFor(trx, requests.map((r) => r.id));
    const effects = requests.map((r) => stateChangeEffects(r, reviews, actor, reason === 'unstarted' ? { why: 'not_started' } : {}));
    events = await appendLogs(ctx.store, trx, now, [
      ...rows.map((g) => ({ actor, action: `grant.${reason}`, targetType: 'grant', targetId: g.id, detail: { systemId: g.system_id, grantee: g.grantee_sub, started: false } })),
      ...effects.map((e) => e.audit),
    ], [
      ...rows.map((g) => ({ audience: requesterAudience({ requester_sub: g.grantee_sub }), event: { type: 'grant.ended' as const, grant: toGrant(g) } })),
      ...effects.flatMap((e) => e.events),
    ]);
    return rows;
  });
  for (let i = 0; i < ended.length; i++) ctx.metrics.grantsEnded.inc({ reason });
  if (ended.length > 0) ctx.eventsCommitted(events);
  return ended.length;
}

/** Ready grants whose start window has passed end unstarted (the sweeper). */
export async function endUnstartedGrants(ctx: AccessContext, limit = 500): Promise<number> {
  const due = await ctx.store.db.selectFrom('grants').select('id').where('state', '=', 'ready').where('start_by', '<=', ctx.now()).limit(limit).execute();
  return endReadyGrants(ctx, due.map((d) => d.id), 'unstarted', SYSTEM_ACTOR);
}

