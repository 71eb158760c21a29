/**
 * target_revoke_lateness_ms / target_gone_lateness_ms: how late, after each grant's deadline, a
 * real target's credential is gone, for the providers that reach real targets: Redis (an ACL
 * user per grant), MariaDB (an account per grant) and a directory group (a member value per
 * grant). Debian's redis-server, mariadbd and slapd run on 127.0.0.1 (test-support), the server
 * runs in this process on SQLite with the real clock and its own sweeper (as in
 * revoke-lateness.ts), and grants are made through the API by `engineer-<n>` people (tokens
 * signed with the bench IdP's key, bench/people.ts): one person has one live grant per system,
 * so each engineer holds one grant on each of the three systems.
 *
 * Every Redis and MariaDB grant holds a connection open as the grant's user, logged in before
 * its deadline. Two figures per provider, from each deadline:
 * - revoke: until the server recorded the provider's confirmation (the `latenessMs` of the
 *   `grant.credential_revoked` audit row, as revoke-lateness.ts reads it);
 * - gone: until this process, asking the target itself, sees the credential gone: Redis's
 *   `ACL GETUSER` answers nothing and the held connection was closed; the account is absent
 *   from mysql.user (asked as root over the socket) and the held connection was closed; the
 *   member value is no longer in the group (an anonymous search). The targets are asked every
 *   POLL_MS once a deadline is less than a second away; a poll counts when its answer arrives.
 * Run alone:
 *   npx tsx bench/provider-revoke.ts [--grants 30] [--spread 15] [--lead 10]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Client as LdapClient } from 'ldapts';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { pino } from 'pino';
import { startMariaDb, type MariaDbServer } from '../test-support/mariadb';
import { startRedis, type RedisServer } from '../test-support/redis';
import { LDAP_BIND_DN, LDAP_NAMES_GROUP, LDAP_PEOPLE, startSlapd, type SlapdServer } from '../test-support/slapd';
import { CredentialSealer } from '../server/src/access/sealer';
import { ServerConfig } from '../server/src/config/schema';
import { startServer, type RunningServer } from '../server/src/server';
import { engineerTokens, type BenchIdp } from './people';
import { isMain, percentile, startTsChild, type Child } from './processes';

const { values } = parseArgs({
  options: { grants: { type: 'string', default: '30' }, spread: { type: 'string', default: '15' }, lead: { type: 'string', default: '10' } },
  allowPositionals: true,
});

const PROVIDERS = ['redis', 'mariadb', 'ldap'] as const;
type ProviderName = (typeof PROVIDERS)[number];
const SYSTEM: Record<ProviderName, string> = { redis: 'cache', mariadb: 'shop', ldap: 'db-admins' };
const POLL_MS = 10;
/** How long after the last deadline everything must be gone and recorded, or the run fails. */
const TAIL_MS = 30_000;

interface Tracked {
  provider: ProviderName;
  grantId: string;
  deadline: number;
  /** The ACL user, the account, or the member DN. */
  name: string;
  /** When the held connection was closed (Redis, MariaDB); null while open. */
  closedAt: number | null;
  /** When the target first answered that the credential is gone. */
  goneAt: number | null;
  held: { close(): void } | null;
}

interface Targets {
  redis: RedisServer;
  mariadb: MariaDbServer;
  ldap: SlapdServer;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the three targets at once; a failed start stops the ones that came up. */
async function startTargets(): Promise<Targets> {
  const started = await Promise.allSettled([startRedis(), startMariaDb(), startSlapd()] as const);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.destroy() : undefined)));
    throw (failed as PromiseRejectedResult).reason;
  }
  const [redis, mariadb, ldap] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [RedisServer, MariaDbServer, SlapdServer];
  return { redis, mariadb, ldap };
}

/** What each target needs before grants: data to read, and directory entries for the engineers. */
function prepareTargets(t: Targets, people: number): void {
  const cache = t.redis.cli(['SET', 'app:greeting', 'hello']);
  if (cache.stdout !== 'OK') throw new Error(`redis setup: ${cache.stderr}`);
  const shop = t.mariadb.sql(
    [
      'CREATE DATABASE shop',
      'CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40))',
      "INSERT INTO shop.orders VALUES (1, 'sprocket')",
      "GRANT SELECT ON shop.* TO stint_admin@'%' WITH GRANT OPTION",
    ].join('; '),
  );
  if (shop.status !== 0) throw new Error(`mariadb setup: ${shop.stderr}`);
  const entries = Array.from(
    { length: people },
    (_, n) => `dn: uid=engineer-${n},${LDAP_PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: engineer-${n}\ncn: Engineer ${n}\nsn: ${n}\n`,
  );
  const added = t.ldap.modify(entries.join('\n'));
  if (added.status !== 0) throw new Error(`ldap setup: ${added.stderr}`);
}

function benchConfig(issuer: string, t: Targets, secrets: string): ServerConfig {
  const secret = (name: string, value: string) => {
    const file = join(secrets, name);
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return { file };
  };
  const system = (id: string, provider: unknown) => ({
    id,
    name: id,
    provider,
    durations: { presets: ['1m'], max: '1h' },
    requesters: ['engineering'],
    approvers: [],
    approvalsRequired: 0,
    justification: 'optional',
  });
  return ServerConfig.parse({
    issuer,
    audience: 'stint-api',
    credentialKey: { env: 'UNUSED' },
    rateLimit: { perMinute: 0 },
    systems: [
      system(SYSTEM.redis, { type: 'redis', settings: { adminUrl: secret('redis-admin-url', t.redis.adminUrl), keys: ['app:*'] } }),
      system(SYSTEM.mariadb, { type: 'mariadb', settings: { adminUrl: secret('mariadb-admin-url', t.mariadb.adminUrl), grants: ['SELECT ON shop.*'], database: 'shop' } }),
      system(SYSTEM.ldap, {
        type: 'ldap-group',
        settings: { url: t.ldap.url, bindDn: LDAP_BIND_DN, bindPassword: secret('ldap-bind-password', t.ldap.bindPassword), groupDn: LDAP_NAMES_GROUP, membership: 'member', userSearch: { base: LDAP_PEOPLE } },
      }),
    ],
  });
}

/** The target's own view, asked by this process on connections of its own. */
class TargetCheck {
  private constructor(
    private readonly redis: Redis,
    private readonly mariadb: Connection,
    private readonly ldap: LdapClient,
  ) {}

  static async open(t: Targets): Promise<TargetCheck> {
    // The provider's admin user, on a connection of its own: the only Redis user besides root
    // allowed ACL GETUSER, and root's password stays inside test-support (its cli() spawns
    // redis-cli synchronously, which would stall the server sharing this process).
    const redis = new Redis(t.redis.adminUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableReadyCheck: false, disableClientInfo: true });
    redis.on('error', () => undefined);
    await redis.connect();
    const mariadb = await createConnection({ socketPath: join(t.mariadb.dir, 'mariadb.sock'), user: 'root' });
    mariadb.on('error', () => undefined);
    return new TargetCheck(redis, mariadb, new LdapClient({ url: t.ldap.url, timeout: 5000 }));
  }

  /** Of these names, the ones the target no longer has. */
  async gone(provider: ProviderName, names: string[]): Promise<Set<string>> {
    if (provider === 'redis') {
      const pipeline = this.redis.pipeline();
      for (const name of names) pipeline.call('ACL', 'GETUSER', name);
      const replies = (await pipeline.exec()) ?? [];
      return new Set(names.filter((_, i) => replies[i]?.[0] === null && replies[i]?.[1] === null));
    }
    if (provider === 'mariadb') {
      const [rows] = await this.mariadb.query<RowDataPacket[]>('SELECT User FROM mysql.user WHERE User IN (?)', [names]);
      const present = new Set(rows.map((r) => String(r.User)));
      return new Set(names.filter((n) => !present.has(n)));
    }
    const { searchEntries } = await this.ldap.search(LDAP_NAMES_GROUP, { scope: 'base', attributes: ['member'] });
    const members = new Set(([] as unknown[]).concat(searchEntries[0]?.member ?? []).map(String));
    return new Set(names.filter((n) => !members.has(n)));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    this.mariadb.destroy();
    await this.ldap.unbind().catch(() => undefined);
  }
}

/** A connection as the grant's user, proven logged in; records when the target closes it. */
async function holdConnection(tracked: Tracked, env: Record<string, string>): Promise<void> {
  const closed = () => (tracked.closedAt ??= Date.now());
  if (tracked.provider === 'redis') {
    const client = new Redis(env.REDIS_URL!, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, enableReadyCheck: false, disableClientInfo: true });
    client.on('error', () => undefined);
    client.on('close', closed);
    tracked.held = { close: () => client.disconnect() };
    await client.connect();
    if ((await client.get('app:greeting')) !== 'hello') throw new Error(`redis: ${tracked.name} cannot read app:greeting`);
  } else if (tracked.provider === 'mariadb') {
    const client = await createConnection(env.DATABASE_URL!);
    client.on('error', closed);
    client.on('end', closed);
    tracked.held = { close: () => client.destroy() };
    const [rows] = await client.query<RowDataPacket[]>('SELECT item FROM orders');
    if (rows[0]?.item !== 'sprocket') throw new Error(`mariadb: ${tracked.name} cannot read shop.orders`);
  }
}

/** p50, p99 and max of one provider's samples, keyed `<figure>_p50_<provider>`. */
function providerFigures(figure: string, provider: ProviderName, samples: number[]): Record<string, { value: number; unit: string }> {
  const out: Record<string, { value: number; unit: string }> = {};
  for (const [label, value] of [['p50', percentile(samples, 50)], ['p99', percentile(samples, 99)], ['max', Math.max(...samples)]] as const) {
    out[`${figure}_${label}_${provider}`] = { value: Math.round(value), unit: 'ms' };
  }
  return out;
}

export async function benchProviderRevoke(perProvider = Number(values.grants), spreadSeconds = Number(values.spread), leadSeconds = Number(values.lead)) {
  const scratch = mkdtempSync(join(tmpdir(), 'stint-bench-provider-revoke-'));
  const tracked: Tracked[] = [];
  let targets: Targets | null = null;
  let idp: Child<BenchIdp> | null = null;
  let server: RunningServer | null = null;
  let check: TargetCheck | null = null;
  try {
    const booted = performance.now();
    const [t, child] = await Promise.all([startTargets(), startTsChild<BenchIdp>('bench/bench-idp.ts')]);
    targets = t;
    idp = child;
    prepareTargets(t, perProvider);
    server = await startServer({
      config: benchConfig(idp.info.issuer, t, scratch),
      credentialKey: CredentialSealer.generateKey(),
      database: join(scratch, 'provider-revoke.sqlite'),
      logger: pino({ level: 'silent' }),
    });
    const tokens = await engineerTokens(idp.info, perProvider);
    check = await TargetCheck.open(t);
    console.log(`targets, IdP and server up in ${((performance.now() - booted) / 1000).toFixed(1)} s`);

    const call = async <T>(token: string, method: string, path: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${server!.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json: unknown = await response.json();
      if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(json)}`);
      return json as T;
    };

    // Grants made one after another, the three providers interleaved; each one's duration puts
    // its deadline `lead` s plus its share of `spread` s after it was made.
    const total = perProvider * PROVIDERS.length;
    const creating = performance.now();
    for (let k = 0; k < total; k++) {
      const provider = PROVIDERS[k % PROVIDERS.length]!;
      const token = tokens[Math.floor(k / PROVIDERS.length)]!;
      const durationSeconds = leadSeconds + Math.floor((k * spreadSeconds) / total);
      const created = await call<{ grant?: { id: string; state: string; expiresAt: string } }>(token, 'POST', '/v1/requests', { systemId: SYSTEM[provider], durationSeconds, reason: 'bench' });
      const grant = created.grant;
      if (!grant || grant.state !== 'active') throw new Error(`${provider}: the request did not become an active grant: ${JSON.stringify(created)}`);
      const { credential } = await call<{ credential: { env: Record<string, string>; fields: Record<string, string> } }>(token, 'GET', `/v1/grants/${grant.id}/credential`);
      const { env, fields } = credential;
      const name = provider === 'redis' ? env.STINT_REDIS_USER! : provider === 'mariadb' ? env.STINT_MARIADB_USER! : fields.member!;
      const entry: Tracked = { provider, grantId: grant.id, deadline: Date.parse(grant.expiresAt), name, closedAt: null, goneAt: null, held: null };
      tracked.push(entry);
      await holdConnection(entry, env);
    }
    const first = Math.min(...tracked.map((g) => g.deadline));
    const last = Math.max(...tracked.map((g) => g.deadline));
    console.log(`${total} grants (${perProvider} a provider) made and held in ${((performance.now() - creating) / 1000).toFixed(1)} s; deadlines from +${((first - Date.now()) / 1000).toFixed(1)} s over ${((last - first) / 1000).toFixed(1)} s`);
    if (first <= Date.now()) throw new Error(`a deadline passed while the grants were being made; raise --lead (now ${leadSeconds} s)`);

    // Ask each target about its grants from a second before their deadlines until they are gone.
    const giveUp = last + TAIL_MS;
    for (;;) {
      const now = Date.now();
      const watched = tracked.filter((g) => g.goneAt === null && g.deadline - 1000 <= now);
      if (tracked.every((g) => g.goneAt !== null)) break;
      if (now > giveUp) throw new Error(`${tracked.filter((g) => g.goneAt === null).length} credentials were still there ${TAIL_MS / 1000} s after the last deadline`);
      await Promise.all(
        PROVIDERS.map(async (provider) => {
          const mine = watched.filter((g) => g.provider === provider);
          if (mine.length === 0) return;
          const gone = await check!.gone(provider, mine.map((g) => g.name));
          const answered = Date.now();
          for (const g of mine) if (gone.has(g.name)) g.goneAt = answered;
        }),
      );
      await sleep(POLL_MS);
    }
    const early = tracked.filter((g) => g.goneAt! < g.deadline || (g.closedAt !== null && g.closedAt < g.deadline));
    if (early.length > 0) throw new Error(`${early.length} credentials were gone before their deadlines (first: ${early[0]!.provider} ${early[0]!.name})`);
    const open = tracked.filter((g) => g.held && g.closedAt === null);
    if (open.length > 0) throw new Error(`${open.length} held connections were still open after their credentials were gone (first: ${open[0]!.provider} ${open[0]!.name})`);

    // The server's own record: each confirmation's audit row, written just after the provider answered.
    const db = server.store.db;
    const ids = tracked.map((g) => g.grantId);
    type Revoked = { target_id: string | null; detail: string };
    let rows: Revoked[] = [];
    while ((rows = await db.selectFrom('audit').select(['target_id', 'detail']).where('action', '=', 'grant.credential_revoked').where('target_id', 'in', ids).execute()).length < total) {
      if (Date.now() > giveUp) throw new Error(`only ${rows.length} of ${total} revokes were recorded ${TAIL_MS / 1000} s after the last deadline`);
      await sleep(50);
    }
    const recorded = new Map(rows.map((r) => [r.target_id!, JSON.parse(r.detail) as { latenessMs: number; attempts: number }]));
    const retried = [...recorded.values()].filter((r) => r.attempts > 1).length;

    const figures: Record<string, { value: number; unit: string }> = {};
    for (const provider of PROVIDERS) {
      const mine = tracked.filter((g) => g.provider === provider);
      const revoke = mine.map((g) => recorded.get(g.grantId)!.latenessMs);
      // Gone when the target no longer has it and, where a connection was held, that connection is closed.
      const gone = mine.map((g) => Math.max(g.goneAt!, g.closedAt ?? 0) - g.deadline);
      Object.assign(figures, providerFigures('target_revoke_lateness_ms', provider, revoke), providerFigures('target_gone_lateness_ms', provider, gone));
      const show = (samples: number[]) => `p50 ${Math.round(percentile(samples, 50))}, p99 ${Math.round(percentile(samples, 99))}, max ${Math.round(Math.max(...samples))} ms`;
      // Per grant, against the server's record: when the target answered "gone", and when the held connection closed.
      const span = (xs: number[]) => (xs.length ? `${Math.min(...xs)} .. ${Math.max(...xs)} ms` : 'none');
      const answered = mine.map((g, i) => g.goneAt! - g.deadline - revoke[i]!);
      const closed = mine.flatMap((g, i) => (g.closedAt === null ? [] : [g.closedAt - g.deadline - revoke[i]!]));
      console.log(`${provider.padEnd(7)} ${mine.length} grants: recorded ${show(revoke)}; seen gone ${show(gone)}`);
      console.log(`        from the record: target said gone ${span(answered)}, held connection closed ${span(closed)}`);
    }
    if (retried > 0) console.log(`${retried} revokes needed more than one attempt`);
    return {
      ...figures,
      target_revoke_grants_per_provider: { value: perProvider, unit: 'grants' },
      target_revoke_window_s: { value: Math.round((last - first) / 100) / 10, unit: 's' },
    };
  } finally {
    for (const g of tracked) g.held?.close();
    await check?.close();
    await server?.close();
    await idp?.stop();
    // bench-idp.ts leaves its folder (signing key, data) to whoever started it.
    if (idp) rmSync(idp.info.dataDir, { recursive: true, force: true });
    if (targets) await Promise.all([targets.redis.destroy(), targets.mariadb.destroy(), targets.ldap.destroy()]);
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await benchProviderRevoke(), null, 2));
  process.exit(0);
}
