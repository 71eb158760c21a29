import { newRowId } from '../store/ids';
import type { Credential, ExtendBody, GrantEndReason } from '@stint/contract';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { appendAudit, type AuditRecord } from '../audit/chain';
import { SYSTEM_ACTOR, type Principal } from '../auth/principal';
import { appendEvents, type LoggedEvent } from '../events/log';
import type { IssuedCredential } from '../providers/provider';
import { forUpdate } from '../store/database';
import { insertRows } from '../store/insert';
import type { Database, GrantRow, RequestRow, ReviewRow } from '../store/schema';
import { ApiProblem, GRANT_VIEW_COLUMNS, notFound, parseList, requesterAudience, toGrant, type AccessContext } from './context';
import { createRequest, loadRequestView, reviewsFor, stateChangeEffects } from './requests';
import { describeError, revokeAll, runRevocation } from './revocation';

type ExtendInput = z.output<typeof ExtendBody>;


export async function loadGrant(db: Kysely<Database>, id: string) {
  const row = await db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toGrant(row) : null;
}

function personOf(row: RequestRow) {
  return { sub: row.requester_sub, name: row.requester_name, email: row.requester_email, groups: parseList(row.requester_groups) };
}


/**
 * Claims the grant of an approved request inside the caller's transaction (the one that
 * approves it, so approval and claim commit together): the window starts now, the grant is
 * `issuing`, and the unique key on its request id makes it one per request. The caller sets
 * the request's `grant_id` in the same transaction; {@link issueGrant} then asks the provider.
 */
export async function claimGrant(ctx: AccessContext, trx: Kysely<Database>, request: RequestRow, startsAt: number): Promise<GrantRow> {
  const held = ctx.providers.heldFor(request.system_id);
  const grant: GrantRow = {
    id: newRowId(),
    request_id: request.id,
    system_id: request.system_id,
    grantee_sub: request.requester_sub,
    grantee_name: request.requester_name,
    grantee_email: request.requester_email,
    provider: held?.system.provider.type ?? 'unknown',
    state: 'issuing',
    starts_at: startsAt,
    expires_at: startsAt + request.duration_seconds * 1000,
    ended_at: null,
    end_reason: null,
    env_names: '[]',
    credential_sealed: null,
    provider_state: null,
    warned: 0,
    revoke_attempts: 0,
    next_attempt_at: null,
    lease_owner: null,
    lease_until: null,
    revoke_count: 0,
    last_error: null,
    // Which provider configuration issues it: a later reload may retire that provider, and
    // the revocation manager keeps (or rebuilds) exactly this one for the grant's revoke.
    provider_key: held?.key ?? null,
    system_config: held ? JSON.stringify(held.system) : null,
  };
  await insertRows(ctx.store, trx, 'grants', [grant]);
  return grant;
}

/**
 * Activates an approved request that has no grant yet (after a crash between approval and
 * claim, on a database written before approval and claim shared a transaction).
 */
export async function activateRequest(ctx: AccessContext, requestId: string): Promise<void> {
  const startsAt = ctx.now();
  const claimed = await ctx.store.db.transaction().execute(async (trx) => {
    const request = await forUpdate(ctx.store, trx.selectFrom('requests').selectAll().where('id', '=', requestId)).executeTakeFirst();
    if (!request || request.state !== 'approved' || request.grant_id) return null;
    const existing = await trx.selectFrom('grants').select('id').where('request_id', '=', requestId).executeTakeFirst();
    if (existing) return null;
    const grant = await claimGrant(ctx, trx, request, startsAt);
    await trx.updateTable('requests').set({ grant_id: grant.id, updated_at: startsAt }).where('id', '=', requestId).execute();
    return { grant, request: { ...request, grant_id: grant.id, updated_at: startsAt } };
  });
  if (claimed) await issueGrant(ctx, claimed.grant, claimed.request);
}

/**
 * Asks the provider for a claimed grant's credential, outside any transaction (it may take a
 * network round trip), then records the result. Answers with the request and grant as that
 * record left them, for the API's reply.
 */
export async function issueGrant(ctx: AccessContext, grant: GrantRow, request: RequestRow, reviews?: readonly ReviewRow[]) {
  let issued: IssuedCredential | null = null;
  let failure: string | null = null;
  try {
    const { system, provider } = ctx.providers.forGrant(grant);
    issued = await provider.issue({
      grantId: grant.id,
      requestId: request.id,
      system,
      user: personOf(request),
      startsAt: grant.starts_at,
      expiresAt: grant.expires_at,
      publicKey: request.public_key,
    });
  } catch (error) {
    failure = describeError(error);
    ctx.log.error({ grantId: grant.id, systemId: grant.system_id, err: failure }, 'provider failed to issue a credential');
  }
  return recordIssue(ctx, grant, issued, failure, { request, ...(reviews ? { reviews } : {}) });
}

/**
 * Records what the provider answered, once: only a grant still `issuing` moves. The caller may
 * pass the request (and its reviews) as its own transaction left them: while its grant is
 * issuing, an approved request does not change (cancel and expiry take pending ones only).
 */
async function recordIssue(
  ctx: AccessContext,
  grant: GrantRow,
  issued: IssuedCredential | null,
  failure: string | null,
  known: { request?: RequestRow; reviews?: readonly ReviewRow[] } = {},
) {
  const now = ctx.now();
  const knownReviews = known.reviews;
  const recorded = await ctx.store.db.transaction().execute(async (trx) => {
    const request = known.request ?? (await forUpdate(ctx.store, trx.selectFrom('requests').selectAll().where('id', '=', grant.request_id)).executeTakeFirstOrThrow());
    let changes: Partial<GrantRow>;
    let requestState: 'active' | 'revoked';
    const audit: AuditRecord[] = [];
    if (issued) {
      const credential = JSON.stringify({ fields: issued.fields, env: issued.env });
      changes = {
        state: 'active',
        env_names: JSON.stringify(Object.keys(issued.env)),
        credential_sealed: ctx.sealer.seal(credential, grant.id),
        provider_state: JSON.stringify(issued.state),
      };
      requestState = 'active';
      audit.push({ actor: SYSTEM_ACTOR, action: 'grant.activated', targetType: 'grant', targetId: grant.id, detail: { requestId: grant.request_id, systemId: grant.system_id, grantee: grant.grantee_sub, expiresAt: new Date(grant.expires_at).toISOString() } });
    } else {
      // Whatever the provider half-made is cleaned up by the same revoke path as any ending.
      changes = { state: 'revoking', end_reason: 'failed', ended_at: now, next_attempt_at: now, last_error: failure, provider_state: '{}' };
      requestState = 'revoked';
      audit.push({ actor: SYSTEM_ACTOR, action: 'grant.issue_failed', targetType: 'grant', targetId: grant.id, detail: { requestId: grant.request_id, systemId: grant.system_id, error: failure } });
    }
    const updated: GrantRow = { ...grant, ...changes };
    const moved = await trx.updateTable('grants').set(changes).where('id', '=', grant.id).where('state', '=', 'issuing').executeTakeFirst();
    if (Number(moved.numUpdatedRows) === 0) {
      // Already recorded: recovery gave this issue up as failed (it ran past the 30 s that
      // recovery waits) and its revoke ran with nothing to go on. A credential the provider
      // made after all must not outlive that: revoke it again, this time with its own state.
      if (issued) {
        await trx
          .updateTable('grants')
          .set({ state: 'revoking', provider_state: JSON.stringify(issued.state), next_attempt_at: now, lease_owner: null, lease_until: null })
          .where('id', '=', grant.id)
          .execute();
        await appendAudit(ctx.store, trx, now, [
          { actor: SYSTEM_ACTOR, action: 'grant.late_credential_revoked', targetType: 'grant', targetId: grant.id, detail: { requestId: grant.request_id, systemId: grant.system_id } },
        ]);
      }
      return null;
    }
    await trx.updateTable('requests').set({ state: requestState, updated_at: now }).where('id', '=', grant.request_id).execute();
    const reviews = knownReviews ?? (await reviewsFor(trx, [request.id]));
    const effects = stateChangeEffects({ ...request, state: requestState, updated_at: now }, reviews, SYSTEM_ACTOR);
    await appendAudit(ctx.store, trx, now, [...audit, effects.audit]);
    const events = await appendEvents(ctx.store, trx, now, [
      ...effects.events,
      { audience: requesterAudience(request), event: { type: issued ? 'grant.activated' : 'grant.ended', grant: toGrant(updated) } },
    ]);
    return { request: effects.view, grant: updated, events };
  });
  if (recorded) ctx.eventsCommitted(recorded.events);
  if (recorded && issued) {
    ctx.metrics.grantsActivated.inc();
    return { request: recorded.request, grant: toGrant(recorded.grant) };
  }
  await runRevocation(ctx, grant.id);
  const request = await loadRequestView(ctx.store.db, grant.request_id);
  return { request: request!, grant: (await loadGrant(ctx.store.db, grant.id))! };
}

/**
 * Ends an active grant for a reason: from then on its credential cannot be read, its requests
 * are over, and the provider revocation is queued (and tried at once by the caller).
 */
async function endGrants(ctx: AccessContext, ids: readonly string[], reason: GrantEndReason, actor: string, detail: Record<string, unknown> = {}): Promise<GrantRow[]> {
  const now = ctx.now();
  let events: LoggedEvent[] = [];
  const ended = await ctx.store.db.transaction().execute(async (trx) => {
    // The state check makes ending idempotent across replicas: a grant leaves "active" once.
    const rows = await trx
      .updateTable('grants')
      .set({ state: 'revoking', end_reason: reason, ended_at: now, credential_sealed: null, next_attempt_at: now, lease_owner: null, lease_until: null })
      .where('id', 'in', ids)
      .where('state', '=', 'active')
      .returningAll()
      .execute();
    if (rows.length === 0) return rows;
    const requestState = reason === 'expired' ? 'expired' : 'revoked';
    const requests = await trx
      .updateTable('requests')
      .set({ state: requestState, updated_at: now })
      .where('grant_id', 'in', rows.map((r) => r.id))
      .where('state', '=', 'active')
      .returningAll()
      .execute();
    const reviews = await reviewsFor(trx, requests.map((r) => r.id));
    const effects = requests.map((r) => stateChangeEffects(r, reviews, actor));
    await appendAudit(ctx.store, trx, now, [
      ...rows.map((g) => ({ actor, action: `grant.${reason}`, targetType: 'grant', targetId: g.id, detail: { systemId: g.system_id, grantee: g.grantee_sub, ...detail } })),
      ...effects.map((e) => e.audit),
    ]);
    events = await appendEvents(ctx.store, trx, now, [
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

/**
 * After a crash: approved requests that never got a grant are activated; grants stuck while
 * issuing (the provider call's result was never recorded) are cleaned up through revoke.
 */
export async function recoverInterrupted(ctx: AccessContext, olderThanMs = 30_000): Promise<void> {
  const { db } = ctx.store;
  const cutoff = ctx.now() - olderThanMs;
  const approved = await db.selectFrom('requests').select(['id', 'extends_grant_id']).where('state', '=', 'approved').where('grant_id', 'is', null).where('updated_at', '<', cutoff).limit(100).execute();
  for (const r of approved) {
    if (r.extends_grant_id) await applyExtension(ctx, r.id);
    else await activateRequest(ctx, r.id);
  }
  const stuck = await db.selectFrom('grants').selectAll().where('state', '=', 'issuing').where('starts_at', '<', cutoff).limit(100).execute();
  for (const grant of stuck) await recordIssue(ctx, grant, null, 'the server stopped while the credential was being issued');
}

function assertGrantee(grant: GrantRow | undefined, user: Principal, id: string): asserts grant is GrantRow {
  if (!grant || grant.grantee_sub !== user.sub) throw notFound('grant', id);
}

/** POST /v1/grants/:id/release: the grantee is done early. */
export async function releaseGrant(ctx: AccessContext, user: Principal, id: string) {
  const grant = await ctx.store.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
  assertGrantee(grant, user, id);
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
  return createRequest(ctx, user, { systemId: grant.system_id, durationSeconds: input.durationSeconds, reason: input.reason, ticket: input.ticket, breakGlass: false, extendsGrantId: id });
}

/** An approved extension request moves its grant's deadline (and the credential's). */
export async function applyExtension(ctx: AccessContext, requestId: string): Promise<void> {
  const { db } = ctx.store;
  const request = await db.selectFrom('requests').selectAll().where('id', '=', requestId).executeTakeFirst();
  if (!request?.extends_grant_id || request.state !== 'approved') return;
  const grant = await db.selectFrom('grants').selectAll().where('id', '=', request.extends_grant_id).executeTakeFirst();
  const now = ctx.now();
  let reissued: IssuedCredential | null = null;
  let failure: string | null = grant?.state === 'active' && grant.expires_at > now ? null : 'the grant ended before the extension was approved';
  const expiresAt = (grant?.expires_at ?? now) + request.duration_seconds * 1000;
  if (!failure && grant) {
    try {
      // The provider that issued the grant extends it, even if a reload has changed the system since.
      const { system, provider } = ctx.providers.forGrant(grant);
      if (provider.extend) {
        reissued = await provider.extend({
          grantId: grant.id, requestId, system, user: personOf(request), startsAt: grant.starts_at, expiresAt, publicKey: request.public_key,
          state: JSON.parse(grant.provider_state ?? '{}') as Record<string, unknown>,
        });
      }
    } catch (error) {
      failure = `the provider could not extend the credential: ${describeError(error)}`;
    }
  }
  const logged = await db.transaction().execute(async (trx) => {
    const locked = await forUpdate(ctx.store, trx.selectFrom('requests').selectAll().where('id', '=', requestId)).executeTakeFirstOrThrow();
    if (locked.state !== 'approved') return [];
    const current = grant && (await trx.selectFrom('grants').selectAll().where('id', '=', grant.id).executeTakeFirst());
    if (!failure && current?.state !== 'active') failure = 'the grant ended before the extension was applied';
    const state = failure ? 'revoked' : 'active';
    await trx.updateTable('requests').set({ state, updated_at: now, grant_id: grant?.id ?? null }).where('id', '=', requestId).execute();
    const effects = stateChangeEffects({ ...locked, state, updated_at: now, grant_id: grant?.id ?? null }, await reviewsFor(trx, [requestId]), SYSTEM_ACTOR, failure ? { error: failure } : {});
    const events = [...effects.events];
    const audit = [effects.audit];
    if (!failure && current) {
      const patch: Partial<GrantRow> = { expires_at: expiresAt, warned: 0 };
      if (reissued) {
        patch.credential_sealed = ctx.sealer.seal(JSON.stringify({ fields: reissued.fields, env: reissued.env }), current.id);
        patch.provider_state = JSON.stringify(reissued.state);
        patch.env_names = JSON.stringify(Object.keys(reissued.env));
      }
      await trx.updateTable('grants').set(patch).where('id', '=', current.id).execute();
      events.push({ audience: requesterAudience(locked), event: { type: 'grant.extended', grant: toGrant({ ...current, ...patch }) } });
      audit.push({ actor: SYSTEM_ACTOR, action: 'grant.extended', targetType: 'grant', targetId: current.id, detail: { requestId, expiresAt: new Date(expiresAt).toISOString() } });
    }
    await appendAudit(ctx.store, trx, now, audit);
    return appendEvents(ctx.store, trx, now, events);
  });
  ctx.eventsCommitted(logged);
}

/** GET /v1/grants/:id/credential: the grantee alone, while active; every read is audited. */
export async function readCredential(ctx: AccessContext, user: Principal, id: string): Promise<Credential> {
  const grant = await ctx.store.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
  assertGrantee(grant, user, id);
  const now = ctx.now();
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
  if (query.active === 'true') q = q.where('state', 'in', ['issuing', 'active']);
  if (query.active === 'false') q = q.where('state', 'in', ['revoking', 'ended']);
  return q;
}

export async function countRevoking(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('grants').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'revoking').executeTakeFirst();
  return Number(row?.n ?? 0);
}
