// Approved -> issued through the provider -> active, resumable. The grant is claimed in the
// transaction that approves its request, with an issue lease; the provider is asked outside any
// transaction; the answer is recorded by the attempt that holds the lease. A crash, a network
// error or a provider that is down leaves the grant `issuing`, and the sweeper (on any
// replica) resumes it once the lease has lapsed or the retry time has come: providers' issue is
// idempotent per grant id, like their revoke. Only the provider's own refusal, or the grant's
// deadline passing first, ends it as failed, with the reason for the requester.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { appendAudit, type AuditRecord } from '../audit/chain';
import { SYSTEM_ACTOR } from '../auth/principal';
import { appendLogs, type LoggedEvent } from '../events/log';
import { ProviderRefusal, type IssuedCredential } from '../providers/provider';
import { forUpdate } from '../store/database';
import { newRowId } from '../store/ids';
import { insertRows } from '../store/insert';
import type { Database, GrantRow, RequestRow, ReviewRow } from '../store/schema';
import { ApiProblem, requesterAudience, toGrant, type AccessContext } from './context';
import { refuseSecondGrant } from './live-access';
import { describeError, holdLease, LEASE_MS, revokeBackoffMs, runRevocation, takeLease } from './revocation';
import { moveGrants, moveRequests } from './transitions';
import { loadGrant, loadRequestView, personOf, reviewsFor, stateChangeEffects } from './views';

/**
 * How long an issue attempt owns its grant unless it renews the lease, which it does while the
 * provider works (however long a webhook's timeouts and retries take), so a live attempt is
 * never taken over; one whose replica died is resumed once its lease has lapsed.
 */
export const ISSUE_LEASE_MS = LEASE_MS;
/** An approved request without its grant (an extension being applied) is left this long to the replica that approved it. */
const APPROVED_WAIT_MS = 2 * 60_000;

/**
 * Claims the grant of an approved request inside the caller's transaction (the one that
 * approves it, so approval and claim commit together): the window starts now, the grant is
 * `issuing` under this attempt's lease, and the unique key on its request id makes it one per
 * request; it is refused while the requester holds another live grant for the system. The caller sets the request's `grant_id` in the same transaction; {@link issueGrant}
 * then asks the provider.
 */
export async function claimGrant(ctx: AccessContext, trx: Kysely<Database>, request: RequestRow, startsAt: number): Promise<GrantRow> {
  const held = ctx.providers.heldFor(request.system_id);
  // A reload removed the system while the request waited: nothing could issue (or later
  // revoke) its credential, so it is not approved at all.
  if (!held) throw new ApiProblem(409, 'system_not_configured', `${request.system_id} is no longer configured on this server, so this request cannot be approved; the requester can ask for another system.`);
  await refuseSecondGrant(ctx.store, trx, request, held.system, startsAt);
  // Start when ready: the grant waits, without a credential, for its requester (within the
  // system's start window) or for the request's named start time; its countdown starts then.
  const waits = request.start_at !== null || held.system.startWindow !== undefined;
  const from = request.start_at ?? startsAt;
  const grant: GrantRow = {
    id: newRowId(),
    request_id: request.id,
    system_id: request.system_id,
    grantee_sub: request.requester_sub,
    grantee_name: request.requester_name,
    grantee_email: request.requester_email,
    provider: held.system.provider.type,
    state: waits ? 'ready' : 'issuing',
    starts_at: from,
    expires_at: from + request.duration_seconds * 1000,
    start_by: waits && request.start_at === null ? startsAt + held.system.startWindow! * 1000 : null,
    ended_at: null,
    end_reason: null,
    env_names: '[]',
    credential_sealed: null,
    provider_state: null,
    warned: 0,
    revoke_attempts: 0,
    issue_attempts: 0,
    next_attempt_at: null,
    lease_owner: waits ? null : `${ctx.replicaId}/${randomUUID()}`,
    lease_until: waits ? null : startsAt + ISSUE_LEASE_MS,
    revoke_count: 0,
    last_error: null,
    // Which provider configuration issues it: a later reload may retire that provider, and
    // the revocation manager keeps (or rebuilds) exactly this one for the grant's revoke.
    provider_key: held.key,
    system_config: JSON.stringify(held.system),
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
  // A grant that waits to be started needs nothing issued now (the requester's app reads it on reconnect).
  if (claimed && claimed.grant.state !== 'ready') await issueGrant(ctx, claimed.grant, claimed.request);
}

type IssueOutcome = { issued: IssuedCredential } | { refused: string } | { failed: string };

/**
 * Asks the provider for a grant's credential, outside any transaction (it may take a network
 * round trip), as the holder of the grant's issue lease, then records the answer. Answers with
 * the request and grant as that record left them, for the API's reply.
 */
export async function issueGrant(ctx: AccessContext, grant: GrantRow, request: RequestRow, reviews?: readonly ReviewRow[]) {
  return holdLease(ctx, grant.id, grant.lease_owner!, async () => {
    let outcome: IssueOutcome;
    try {
      const { system, provider } = ctx.providers.forGrant(grant);
      outcome = {
        issued: await provider.issue({
          grantId: grant.id,
          requestId: request.id,
          system,
          user: personOf(request),
          startsAt: grant.starts_at,
          expiresAt: grant.expires_at,
          publicKey: request.public_key,
        }),
      };
    } catch (error) {
      const message = describeError(error);
      outcome = error instanceof ProviderRefusal ? { refused: message } : { failed: message };
      ctx.log.warn({ grantId: grant.id, systemId: grant.system_id, err: message, refused: error instanceof ProviderRefusal }, 'the provider did not issue a credential');
    }
    return recordIssue(ctx, grant, outcome, { request, ...(reviews ? { reviews } : {}) });
  });
}

/**
 * Records what the provider answered, only if this attempt still holds the grant's issue lease
 * and the grant is still `issuing`. A failure that a retry may get past leaves it issuing, with
 * the next attempt due after a backoff, unless that would be past the grant's deadline. The
 * caller may pass the request (and its reviews) as its own transaction left them: while its
 * grant is issuing, an approved request does not change (cancel and expiry take pending ones).
 */
async function recordIssue(ctx: AccessContext, grant: GrantRow, outcome: IssueOutcome, known: { request?: RequestRow; reviews?: readonly ReviewRow[] } = {}) {
  const now = ctx.now();
  const lease = grant.lease_owner;
  if ('failed' in outcome) {
    const attempts = grant.issue_attempts + 1;
    const retryAt = now + revokeBackoffMs(attempts);
    if (retryAt < grant.expires_at) {
      await ctx.store.db
        .updateTable('grants')
        .set({ issue_attempts: attempts, next_attempt_at: retryAt, lease_owner: null, lease_until: null, last_error: outcome.failed })
        .where('id', '=', grant.id)
        .where('state', '=', 'issuing')
        .where('lease_owner', '=', lease)
        .execute();
      ctx.metrics.issueRetries.inc({ provider: grant.provider });
      const request = (known.request && (await loadRequestView(ctx.store.db, known.request.id))) ?? (await loadRequestView(ctx.store.db, grant.request_id));
      return { request: request!, grant: (await loadGrant(ctx.store.db, grant.id))! };
    }
    outcome = { refused: `the provider could not issue the credential before the grant's deadline (last error: ${outcome.failed})` };
  }
  const issued = 'issued' in outcome ? outcome.issued : null;
  const failure = 'refused' in outcome ? outcome.refused : null;
  const recorded = await ctx.store.db.transaction().execute(async (trx) => {
    const request = known.request ?? (await forUpdate(ctx.store, trx.selectFrom('requests').selectAll().where('id', '=', grant.request_id)).executeTakeFirstOrThrow());
    let changes: Omit<Partial<GrantRow>, 'state'>;
    let requestState: 'active' | 'revoked';
    const audit: AuditRecord[] = [];
    if (issued) {
      const credential = JSON.stringify({ fields: issued.fields, env: issued.env });
      changes = {
        env_names: JSON.stringify(Object.keys(issued.env)),
        credential_sealed: ctx.sealer.seal(credential, grant.id),
        provider_state: JSON.stringify(issued.state),
        lease_owner: null,
        lease_until: null,
        next_attempt_at: null,
        last_error: null,
      };
      requestState = 'active';
      audit.push({ actor: SYSTEM_ACTOR, action: 'grant.activated', targetType: 'grant', targetId: grant.id, detail: { ...issued.audit, requestId: grant.request_id, systemId: grant.system_id, grantee: grant.grantee_sub, expiresAt: new Date(grant.expires_at).toISOString(), attempts: grant.issue_attempts + 1 } });
    } else {
      // Whatever the provider half-made is cleaned up by the same revoke path as any ending.
      changes = { end_reason: 'failed', ended_at: now, next_attempt_at: now, last_error: failure, provider_state: '{}', lease_owner: null, lease_until: null };
      requestState = 'revoked';
      audit.push({ actor: SYSTEM_ACTOR, action: 'grant.issue_failed', targetType: 'grant', targetId: grant.id, detail: { requestId: grant.request_id, systemId: grant.system_id, error: failure } });
    }
    const [updated] = await moveGrants(trx, { ids: [grant.id], lease }, 'issuing', issued ? 'active' : 'revoking', changes);
    if (!updated) {
      const current = await trx.selectFrom('grants').select('state').where('id', '=', grant.id).executeTakeFirstOrThrow();
      // Lost the lease to a newer attempt, or the grant was given up meanwhile. A credential
      // this attempt made must not outlive a grant that ended: revoke it again, with its own
      // state. (One that another attempt recorded as active is the same resource: issue is
      // idempotent per grant.)
      if (issued && (current.state === 'revoking' || current.state === 'ended')) {
        const again = { provider_state: JSON.stringify(issued.state), next_attempt_at: now, lease_owner: null, lease_until: null };
        if (current.state === 'revoking') await moveGrants(trx, { ids: [grant.id] }, 'revoking', 'revoking', again);
        else await moveGrants(trx, { ids: [grant.id] }, 'ended', 'revoking', again);
        await appendAudit(ctx.store, trx, now, [
          { actor: SYSTEM_ACTOR, action: 'grant.late_credential_revoked', targetType: 'grant', targetId: grant.id, detail: { requestId: grant.request_id, systemId: grant.system_id } },
        ]);
      }
      return null;
    }
    const [moved] = await moveRequests(trx, { ids: [grant.request_id] }, 'approved', requestState, { updated_at: now, failure_reason: failure });
    // A request whose grant is issuing stays approved (cancel and expiry take pending ones).
    if (!moved) throw new Error(`request ${grant.request_id} left "approved" while its grant was issuing`);
    const reviews = known.reviews ?? (await reviewsFor(trx, [request.id]));
    const effects = stateChangeEffects({ ...request, state: requestState, updated_at: now, failure_reason: failure }, reviews, SYSTEM_ACTOR);
    const events = await appendLogs(ctx.store, trx, now, [...audit, effects.audit], [
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
 * After a crash (or while a provider is down): approved requests that never got a grant are
 * activated, and grants still `issuing` whose lease lapsed, or whose retry time has come, are
 * issued again under a fresh lease. Only the attempt that takes the lease issues.
 */
export async function resumeIssuance(ctx: AccessContext, limit = 100): Promise<void> {
  const { db } = ctx.store;
  const now = ctx.now();
  const approved = await db.selectFrom('requests').select(['id', 'extends_grant_id']).where('state', '=', 'approved').where('grant_id', 'is', null).where('updated_at', '<', now - APPROVED_WAIT_MS).limit(limit).execute();
  for (const r of approved) {
    try {
      if (r.extends_grant_id) await applyExtension(ctx, r.id);
      else await activateRequest(ctx, r.id);
    } catch (error) {
      ctx.log.warn({ requestId: r.id, err: describeError(error) }, 'could not activate an approved request; will try again');
    }
  }
  const due = await db
    .selectFrom('grants')
    .select('id')
    .where('state', '=', 'issuing')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
    .limit(limit)
    .execute();
  for (const grant of due) {
    const taken = await takeLease(ctx, grant.id, 'issuing', ISSUE_LEASE_MS);
    if (!taken) continue;
    const request = await db.selectFrom('requests').selectAll().where('id', '=', taken.request_id).executeTakeFirstOrThrow();
    if (now >= taken.expires_at) {
      await recordIssue(ctx, taken, { refused: `the grant's deadline passed before the credential could be issued${taken.last_error ? ` (last error: ${taken.last_error})` : ''}` }, { request });
      continue;
    }
    ctx.log.info({ grantId: grant.id, systemId: taken.system_id, attempt: taken.issue_attempts + 1 }, 'resuming an interrupted issue');
    await issueGrant(ctx, taken, request);
  }
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
          current: grant.credential_sealed ? (JSON.parse(ctx.sealer.open(grant.credential_sealed, grant.id)) as Pick<IssuedCredential, 'fields' | 'env'>) : null,
        });
      }
    } catch (error) {
      failure = `the provider could not extend the credential: ${describeError(error)}`;
    }
  }
  const logged: LoggedEvent[] = await db.transaction().execute(async (trx) => {
    const locked = await forUpdate(ctx.store, trx.selectFrom('requests').selectAll().where('id', '=', requestId)).executeTakeFirstOrThrow();
    if (locked.state !== 'approved') return [];
    const current = grant && (await trx.selectFrom('grants').selectAll().where('id', '=', grant.id).executeTakeFirst());
    if (!failure && current?.state !== 'active') failure = 'the grant ended before the extension was applied';
    const state = failure ? 'revoked' : 'active';
    await moveRequests(trx, { ids: [requestId] }, 'approved', state, { updated_at: now, grant_id: grant?.id ?? null, failure_reason: failure });
    const effects = stateChangeEffects({ ...locked, state, updated_at: now, grant_id: grant?.id ?? null, failure_reason: failure }, await reviewsFor(trx, [requestId]), SYSTEM_ACTOR, failure ? { error: failure } : {});
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
    return appendLogs(ctx.store, trx, now, audit, events);
  });
  ctx.eventsCommitted(logged);
}
