// The revocation manager (after Vault's expiration manager): it owns the providers, including
// those a configuration reload retired, for as long as grants they issued live; and it takes
// credentials back, with a lease per attempt, retries with backoff that never give up, and
// lateness measured to the provider's confirmation.
import { randomUUID } from 'node:crypto';
import type { GrantEndReason } from '@stint/contract';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { appendAudit } from '../audit/chain';
import { SYSTEM_ACTOR } from '../auth/principal';
import { SystemConfig } from '../config/schema';
import type { Metrics } from '../observability/metrics';
import { providerKey, type Provider, type ProviderRegistry } from '../providers/provider';
import type { Database, GrantRow } from '../store/schema';
import type { AccessContext } from './context';
import { moveGrants } from './transitions';

/**
 * How long an attempt's lease on a grant (to issue or to revoke it) lasts unless renewed. A live
 * attempt renews it (holdLease), however long its provider takes; one whose replica died, or
 * that could not record its outcome (the database went away), is taken over this soon by the
 * sweeper of any replica, so a grant that comes due meanwhile is still revoked on time.
 */
export const LEASE_MS = 45_000;
const MAX_BACKOFF_MS = 60_000;
/** 1 s, 2 s, 4 s ... capped at a minute: a failing revoke is retried forever, never dropped. */
export const revokeBackoffMs = (attempts: number) => Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, attempts - 1));

/** Scrubs provider error text before it is stored or logged: it may quote a connection string. */
export const describeError = (error: unknown) => String((error as Error)?.message ?? error).replace(/\/\/[^@\s]*@/g, '//***@').slice(0, 500);

/** A provider as configured for one system, and the key grants it issues are filed under. */
export interface HeldProvider {
  key: string;
  system: SystemConfig;
  provider: Provider;
}

/** What a grant records of the provider that issued it (grants made before this have nulls). */
export type IssuedBy = Pick<GrantRow, 'id' | 'system_id' | 'provider_key' | 'system_config'>;

const LIVE_STATES = ['issuing', 'active', 'revoking'] as const;
/** Long enough for a call that started on a provider a reload replaced to finish. */
const REPLACED_CLOSE_DELAY_MS = 5 * 60_000;

/**
 * Owns every provider this server may need. Live ones serve the current configuration; a
 * reload that drops or changes a system retires its provider instead of forgetting it, and a
 * retired provider is kept (and rebuilt after a restart from the settings the grant recorded)
 * until the last grant it issued has ended. Threat: a reload stranding revocations, so that a
 * role, certificate or webhook account outlived its deadline with nobody left to remove it.
 */
export class ProviderSet {
  private live = new Map<string, HeldProvider>();
  private readonly retired = new Map<string, HeldProvider>();
  private closing: { timer: NodeJS.Timeout; providers: Provider[] }[] = [];

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly log: Pick<Logger, 'info' | 'warn'>,
    private readonly metrics: Pick<Metrics, 'retiredProviders'>,
  ) {}

  /**
   * Takes a configuration (at boot and on reload): builds every system's provider anew (so a
   * rotated secret behind an unchanged reference is read again) and retires the ones whose
   * settings went away. Throws, changing nothing, when a system's provider settings are wrong.
   */
  configure(systems: readonly SystemConfig[]): HeldProvider[] {
    const built = this.registry.configure(systems);
    const next = new Map<string, HeldProvider>(systems.map((system) => [system.id, { key: providerKey(system), system, provider: built.get(system.id)! }]));
    const nextKeys = new Set([...next.values()].map((held) => held.key));
    const retiring = [...this.live.values()].filter((held) => !nextKeys.has(held.key));
    // Same settings, built anew: the old instance may be mid-call, so it is closed a little later.
    const replaced = [...this.live.values()].filter((held) => nextKeys.has(held.key)).map((held) => held.provider);
    for (const held of retiring) this.retired.set(held.key, held);
    for (const held of next.values()) this.retired.delete(held.key);
    this.live = next;
    if (replaced.length > 0) {
      const timer = setTimeout(() => void Promise.all(replaced.map((p) => p.close?.().catch(() => undefined))), REPLACED_CLOSE_DELAY_MS);
      timer.unref();
      this.closing.push({ timer, providers: replaced });
    }
    this.metrics.retiredProviders.set(this.retired.size);
    return retiring;
  }

  /** The provider new requests for this system go to. */
  forSystem(systemId: string): Provider | undefined {
    return this.live.get(systemId)?.provider;
  }

  /** The current configuration's entry for a system, recorded on each grant it issues. */
  heldFor(systemId: string): HeldProvider | undefined {
    return this.live.get(systemId);
  }

  /**
   * The provider that issued this grant: live, retired by a reload, or rebuilt from the
   * settings the grant recorded (after a restart that followed such a reload). Grants made
   * before grants recorded it fall back to the system's current provider.
   */
  forGrant(grant: IssuedBy): HeldProvider {
    if (grant.provider_key === null || grant.system_config === null) {
      const current = this.live.get(grant.system_id);
      if (!current) throw new Error(`system ${grant.system_id} is not configured and grant ${grant.id} predates recorded provider settings; cannot reach its provider`);
      return current;
    }
    const live = this.live.get(grant.system_id);
    if (live?.key === grant.provider_key) return live;
    const retired = this.retired.get(grant.provider_key);
    if (retired) return retired;
    const system = SystemConfig.parse(JSON.parse(grant.system_config));
    const held = { key: grant.provider_key, system, provider: this.registry.build(system) };
    this.retired.set(held.key, held);
    this.metrics.retiredProviders.set(this.retired.size);
    this.log.warn({ systemId: system.id, providerKey: held.key }, 'rebuilt a retired provider from the settings its grants recorded; it stays until they end');
    return held;
  }

  /** Retired providers that no live grant needs any more are closed and dropped. */
  async release(db: Kysely<Database>): Promise<void> {
    if (this.retired.size === 0) return;
    const rows = await db.selectFrom('grants').select('provider_key').distinct().where('state', 'in', LIVE_STATES).where('provider_key', 'in', [...this.retired.keys()]).execute();
    const needed = new Set(rows.map((r) => r.provider_key));
    for (const [key, held] of this.retired) {
      if (needed.has(key)) continue;
      this.retired.delete(key);
      await held.provider.close?.().catch(() => undefined);
      this.log.info({ systemId: held.system.id, providerKey: key }, 'the last grant of a retired provider has ended; it is closed');
    }
    this.metrics.retiredProviders.set(this.retired.size);
  }

  /** Closes every provider (live, retired, replaced): the server is stopping. */
  async close(): Promise<void> {
    const all = [...this.live.values(), ...this.retired.values()].map((held) => held.provider);
    for (const { timer, providers } of this.closing) {
      clearTimeout(timer);
      all.push(...providers);
    }
    this.closing = [];
    await Promise.all(all.map((p) => p.close?.().catch(() => undefined)));
  }

  /** How many live grants each just-retired provider still owes a revoke, for the reload's log line. */
  static async liveGrants(db: Kysely<Database>, keys: readonly string[]): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const rows = await db
      .selectFrom('grants')
      .select((eb) => ['provider_key', eb.fn.countAll<number>().as('n')])
      .where('state', 'in', LIVE_STATES)
      .where('provider_key', 'in', keys)
      .groupBy('provider_key')
      .execute();
    return new Map(rows.map((r) => [r.provider_key!, Number(r.n)]));
  }
}

/**
 * Takes the credential back at the provider that issued it. A lease makes sure one replica
 * works on a grant at a time; failure schedules a retry with backoff and is counted, success
 * ends the grant and records how late, from when it had to stop working to this confirmation.
 */
export async function runRevocation(ctx: AccessContext, grantId: string): Promise<'ended' | 'retrying' | 'skipped'> {
  const { db } = ctx.store;
  const claim = await takeLease(ctx, grantId, 'revoking', LEASE_MS);
  if (!claim) return 'skipped';
  const lease = claim.lease_owner!;
  try {
    const { system, provider } = ctx.providers.forGrant(claim);
    await holdLease(ctx, grantId, lease, () =>
      provider.revoke({ grantId, system, state: JSON.parse(claim.provider_state ?? '{}') as Record<string, unknown>, reason: (claim.end_reason ?? 'expired') as Exclude<GrantEndReason, 'unstarted'> }),
    );
  } catch (error) {
    const attempts = claim.revoke_attempts + 1;
    const message = describeError(error);
    const retryAt = ctx.now() + revokeBackoffMs(attempts);
    await db
      .updateTable('grants')
      .set({ revoke_attempts: attempts, next_attempt_at: retryAt, lease_owner: null, lease_until: null, last_error: message })
      .where('id', '=', grantId)
      .where('lease_owner', '=', lease)
      .execute();
    ctx.metrics.revokeFailures.inc({ provider: claim.provider });
    ctx.log.warn({ grantId, systemId: claim.system_id, attempts, retryInMs: retryAt - ctx.now(), err: message }, 'revoke failed; will retry');
    return 'retrying';
  }
  const done = ctx.now();
  // Lateness runs to this confirmation, from when the credential had to stop working: its
  // deadline, or the moment it was ended early. (Marking a grant ended is not removing it.)
  const endReason = (claim.end_reason ?? 'expired') as GrantEndReason;
  // (A grant released after its deadline but before the sweeper got to it was due at the deadline.)
  const due = endReason === 'expired' ? claim.expires_at : Math.min(claim.expires_at, claim.ended_at ?? claim.expires_at);
  const latenessMs = Math.max(0, done - due);
  const outcome = await db.transaction().execute(async (trx) => {
    // Only under this attempt's lease. Lost it: a credential was recorded while this revoke ran
    // (see activation.ts), and the attempt that holds the lease now revokes that one.
    const ended = await moveGrants(trx, { ids: [grantId], lease }, 'revoking', 'ended', {
      revoke_count: claim.revoke_count + 1,
      lease_owner: null,
      lease_until: null,
      next_attempt_at: null,
      last_error: null,
    });
    if (ended.length === 0) return 'retrying';
    await appendAudit(ctx.store, trx, done, [
      { actor: SYSTEM_ACTOR, action: 'grant.credential_revoked', targetType: 'grant', targetId: grantId, detail: { systemId: claim.system_id, attempts: claim.revoke_attempts + 1, latenessMs } },
    ]);
    return 'ended' as const;
  });
  if (outcome === 'ended') ctx.metrics.revokeLateness.observe({ reason: endReason }, latenessMs / 1000);
  return outcome;
}

/**
 * Takes a grant in `state` for one attempt (an issue or a revoke), if nobody holds it or the
 * holder's lease has lapsed; returns the grant as taken, or nothing. The lease names this
 * replica and this attempt: an attempt whose lease was taken away must not record over the
 * next one's.
 */
export async function takeLease(ctx: AccessContext, grantId: string, state: 'issuing' | 'revoking', forMs: number): Promise<GrantRow | undefined> {
  const now = ctx.now();
  return ctx.store.db
    .updateTable('grants')
    .set({ lease_owner: `${ctx.replicaId}/${randomUUID()}`, lease_until: now + forMs })
    .where('id', '=', grantId)
    .where('state', '=', state)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .returningAll()
    .executeTakeFirst();
}

/**
 * Runs an attempt under its lease, renewing the lease every third of LEASE_MS until the attempt
 * settles. A renewal that fails (the database is away) is logged; the lease may then lapse and
 * another attempt take over, which providers allow (issue and revoke are idempotent per grant)
 * and which records only under its own lease.
 */
export async function holdLease<T>(ctx: AccessContext, grantId: string, lease: string, run: () => Promise<T>): Promise<T> {
  const renew = setInterval(() => {
    ctx.store.db
      .updateTable('grants')
      .set({ lease_until: ctx.now() + LEASE_MS })
      .where('id', '=', grantId)
      .where('lease_owner', '=', lease)
      .execute()
      .catch((error: unknown) => ctx.log.warn({ grantId, err: describeError(error) }, 'could not renew the lease of a running attempt; another replica may take it over'));
  }, LEASE_MS / 3);
  renew.unref();
  try {
    return await run();
  } finally {
    clearInterval(renew);
  }
}

/** Revokes several grants, a few at a time. */
export async function revokeAll(ctx: AccessContext, ids: readonly string[], concurrency = 16): Promise<void> {
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await runRevocation(ctx, id);
    }),
  );
}

/** Revocations whose retry time has come (and any whose lease holder died). */
export async function retryRevocations(ctx: AccessContext, limit = 100): Promise<number> {
  const now = ctx.now();
  const due = await ctx.store.db
    .selectFrom('grants')
    .select('id')
    .where('state', '=', 'revoking')
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .orderBy('next_attempt_at')
    .limit(limit)
    .execute();
  await revokeAll(ctx, due.map((d) => d.id));
  return due.length;
}
