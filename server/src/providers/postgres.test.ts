// The postgres provider against real PostgreSQL servers, checked the way a grantee would: with
// Debian's `psql` logging in with the credential's PG* variables. Logins run on clusters of
// this file whose pg_hba.conf asks for passwords (scram-sha-256), because the shared test
// cluster trusts everyone and PostgreSQL enforces VALID UNTIL only on password logins.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { v7 } from 'uuid';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type {} from '../../../test-support/global-setup';
import { startPostgresCluster, type PostgresCluster } from '../../../test-support/postgres';
import { MINUTE, startHarness, type Harness } from '../../test/harness';
import { SystemConfig } from '../config/schema';
import { grantToken } from './grant-token';
import { postgresProvider, renderRoleName } from './postgres';
import { ProviderRefusal, ProviderRegistry, type IssueInput, type IssuedCredential, type Provider } from './provider';

const PSQL = '/usr/bin/psql';

// ---------------------------------------------------------------------------------------------
// A cluster that asks for passwords, with an application database and a read-only group role

interface AuthCluster {
  cluster: PostgresCluster;
  /** The superuser over trust, for the test's own checks. */
  superUrl: string;
  /** A CREATEROLE role that is not a superuser, with a password: what the provider is given. */
  adminUrl: string;
  adminPassword: string;
  logFile: string;
}

async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

async function startAuthCluster(name: string): Promise<AuthCluster> {
  const cluster = await startPostgresCluster({ name });
  const adminPassword = `adm-${randomBytes(12).toString('hex')}`;
  await sql(cluster.adminUrl, 'CREATE DATABASE app');
  const superUrl = cluster.adminUrl.replace(/\/postgres$/, '/app');
  await sql(superUrl, `CREATE ROLE stint_admin LOGIN CREATEROLE PASSWORD '${adminPassword}'`);
  await sql(superUrl, 'CREATE TABLE widgets (id int, name text)');
  await sql(superUrl, "INSERT INTO widgets VALUES (1, 'sprocket')");
  await sql(superUrl, 'CREATE ROLE app_read NOLOGIN');
  await sql(superUrl, 'GRANT SELECT ON widgets TO app_read');
  // Every statement goes to the server log, so a test can look for secrets there.
  await sql(superUrl, "ALTER SYSTEM SET log_statement = 'all'");
  // startPostgresCluster keeps its data folder in <socketDir>/data (test-support/postgres.ts).
  writeFileSync(
    join(cluster.socketDir, 'data', 'pg_hba.conf'),
    ['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  );
  await sql(superUrl, 'SELECT pg_reload_conf()');
  return {
    cluster,
    superUrl,
    adminUrl: `postgres://stint_admin:${adminPassword}@127.0.0.1:${cluster.port}/app`,
    adminPassword,
    logFile: join(cluster.socketDir, 'postgres.log'),
  };
}

// ---------------------------------------------------------------------------------------------
// psql as the grantee

/** Only the credential's variables: none of this process's PG* may leak into the login. */
function grantEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, LC_ALL: 'C', PGCONNECT_TIMEOUT: '5', ...env };
}

/** Runs one statement as the grantee; the password travels in PGPASSWORD, never on argv. */
function psql(env: Record<string, string>, statement: string) {
  const result = spawnSync(PSQL, ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', statement], { env: grantEnv(env), encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr };
}

/** A session that stays open (pg_sleep) until something ends it. */
function openSession(env: Record<string, string>, seconds = 30) {
  const child = spawn(PSQL, ['-X', '-At', '-c', `SELECT pg_sleep(${seconds})`], { env: grantEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => {
    const started = Date.now();
    child.on('exit', (code) => resolve({ code, stderr, ms: Date.now() - started }));
  });
  return { child, exited };
}

async function waitForSession(superUrl: string, role: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const rows = await sql(superUrl, "SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND query LIKE '%pg_sleep%'", [role]);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no session of ${role} appeared`);
}

const roleExists = async (superUrl: string, role: string) => (await sql(superUrl, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).length === 1;

// ---------------------------------------------------------------------------------------------
// Systems and inputs

function pgSystem(settings: Record<string, unknown>, id = 'pg-test'): SystemConfig {
  return SystemConfig.parse({
    id,
    name: 'Test database',
    provider: { type: 'postgres', settings },
    durations: { presets: ['5m', '15m'], max: '1h' },
    requesters: ['engineering'],
    approvers: ['sre-leads'],
    approvalsRequired: 1,
    justification: 'optional',
  });
}

/** Points a SecretRef at a fresh environment variable holding `value`. */
const secretEnv = (value: string) => {
  const name = `STINT_TEST_PG_ADMIN_${randomBytes(6).toString('hex').toUpperCase()}`;
  process.env[name] = value;
  return { env: name };
};

function issueInput(system: SystemConfig, opts: { sub?: string; expiresAt?: number; grantId?: string } = {}): IssueInput {
  const now = Date.now();
  return {
    grantId: opts.grantId ?? randomUUID(),
    requestId: randomUUID(),
    system,
    user: { sub: opts.sub ?? 'alice', login: opts.sub ?? 'alice', name: 'Alice Adams', email: 'alice@stint.example', groups: ['engineering'] },
    startsAt: now,
    expiresAt: opts.expiresAt ?? now + 10 * MINUTE,
    publicKey: null,
  };
}

const revokeInput = (system: SystemConfig, grantId: string, state: Record<string, unknown>) => ({ grantId, system, state, reason: 'released' as const });

// ---------------------------------------------------------------------------------------------

describe('postgres provider against a real PostgreSQL', () => {
  let db: AuthCluster;
  let system: SystemConfig;
  let provider: Provider;
  beforeAll(async () => {
    db = await startAuthCluster('pgprov');
    system = pgSystem({ adminUrl: secretEnv(db.adminUrl), roles: ['app_read'] });
    provider = postgresProvider(system);
  });
  afterAll(async () => {
    await db?.cluster.destroy();
  });

  it('issues a login role that can do what its group allows and nothing more, until the deadline', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    const role = issued.fields.user!;
    expect(role).toBe(`stint_alice_${grantToken(input.grantId)}`);
    expect(issued.state).toEqual({ role });
    expect(issued.fields).toMatchObject({ host: '127.0.0.1', port: String(db.cluster.port), database: 'app', expiresAt: new Date(input.expiresAt).toISOString() });
    expect(Object.keys(issued.env).sort()).toEqual(['DATABASE_URL', 'PGDATABASE', 'PGHOST', 'PGPASSWORD', 'PGPORT', 'PGUSER']);
    expect(issued.fields.password).toMatch(/^[A-Za-z0-9_-]{43}$/);

    expect(psql(issued.env, 'SELECT current_user')).toMatchObject({ status: 0, stdout: role });
    expect(psql(issued.env, 'SELECT name FROM widgets')).toMatchObject({ status: 0, stdout: 'sprocket' });
    const insert = psql(issued.env, "INSERT INTO widgets VALUES (2, 'gear')");
    expect(insert.status).not.toBe(0);
    expect(insert.stderr).toMatch(/permission denied for table widgets/);
    const create = psql(issued.env, 'CREATE TABLE public.mine (x int)');
    expect(create.status).not.toBe(0);
    expect(create.stderr).toMatch(/permission denied for schema public/);
    const wrongPassword = psql({ ...issued.env, PGPASSWORD: 'not-the-password' }, 'SELECT 1');
    expect(wrongPassword.stderr).toMatch(/password authentication failed/);

    const [row] = await sql<{ rolvaliduntil: Date; rolconnlimit: number; rolsuper: boolean; rolcreaterole: boolean; rolpassword: string }>(
      db.superUrl,
      'SELECT rolvaliduntil, rolconnlimit, rolsuper, rolcreaterole, rolpassword FROM pg_authid WHERE rolname = $1',
      [role],
    );
    expect(row!.rolvaliduntil.getTime()).toBe(input.expiresAt);
    expect(row).toMatchObject({ rolconnlimit: 10, rolsuper: false, rolcreaterole: false });
    // Only a SCRAM verifier reached the server: the statement log (log_statement = all) shows
    // the CREATE ROLE, but not the password.
    expect(row!.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    const log = readFileSync(db.logFile, 'utf8');
    expect(log).toContain(`CREATE ROLE "${role}"`);
    expect(log).not.toContain(issued.fields.password);
    expect(JSON.stringify(issued.state)).not.toContain(issued.fields.password);

    // DATABASE_URL is a working connection string (user and password URL-encoded).
    const client = new pg.Client({ connectionString: issued.env.DATABASE_URL });
    await client.connect();
    expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(role);
    await client.end();

    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(await roleExists(db.superUrl, role)).toBe(false);
  });

  it('gives two grants made in the same second their own roles, even for users whose names read alike', async () => {
    // The old name part was the id's time prefix: both grants became stint_bob_smith_<same 8 hex>.
    const second = Date.now();
    const first = issueInput(system, { sub: 'Bob.Smith', grantId: v7({ msecs: second }) });
    const other = issueInput(system, { sub: 'bob.smith', grantId: v7({ msecs: second + 1 }) });
    expect(first.grantId.slice(0, 8)).toBe(other.grantId.slice(0, 8));
    const [a, b] = [await provider.issue(first), await provider.issue(other)];
    expect(a.fields.user).not.toBe(b.fields.user);
    expect(psql(a.env, 'SELECT current_user')).toMatchObject({ status: 0, stdout: a.fields.user });
    expect(psql(b.env, 'SELECT current_user')).toMatchObject({ status: 0, stdout: b.fields.user });
    await provider.revoke(revokeInput(system, first.grantId, a.state));
    expect(psql(b.env, 'SELECT 1')).toMatchObject({ status: 0 }); // one's revoke leaves the other alone
    await provider.revoke(revokeInput(system, other.grantId, b.state));
  });

  it('keeps a hostile user name and an odd template inside the role name, and drops nothing else', async () => {
    const template = `x"; DROP ROLE postgres; --{user}.{grant}`;
    const hostile = pgSystem({ adminUrl: secretEnv(db.adminUrl), roles: ['app_read'], roleNameTemplate: template });
    const hostileProvider = postgresProvider(hostile);
    const input = issueInput(hostile, { sub: `robert'); DROP ROLE postgres; --"x` });
    const issued = await hostileProvider.issue(input);
    const role = issued.fields.user!;
    expect(role).toBe(`x"; DROP ROLE postgres; --robert_drop_role_pos.${grantToken(input.grantId)}`);
    expect(await roleExists(db.superUrl, role)).toBe(true);
    expect(await roleExists(db.superUrl, 'postgres')).toBe(true);
    expect(psql(issued.env, 'SELECT current_user')).toMatchObject({ status: 0, stdout: role });
    expect(psql(issued.env, 'SELECT count(*) FROM widgets')).toMatchObject({ status: 0, stdout: '1' });

    await hostileProvider.revoke(revokeInput(hostile, input.grantId, issued.state));
    expect(await roleExists(db.superUrl, role)).toBe(false);
    const left = (await sql<{ rolname: string }>(db.superUrl, "SELECT rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' ORDER BY 1")).map((r) => r.rolname);
    expect(left).toEqual(['app_read', 'postgres', 'stint_admin']);
  });

  it('revoke kills open sessions, and the credential no longer logs in', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    const session = openSession(issued.env);
    await waitForSession(db.superUrl, issued.fields.user!);

    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    const ended = await session.exited;
    expect(ended.code).not.toBe(0);
    expect(ended.stderr).toMatch(/terminating connection due to administrator command/);
    expect(ended.ms).toBeLessThan(10_000);

    const after = psql(issued.env, 'SELECT 1');
    expect(after.status).not.toBe(0);
    // With password auth, PostgreSQL does not say whether the role exists.
    expect(after.stderr).toMatch(/password authentication failed|does not exist/);
    expect(await roleExists(db.superUrl, issued.fields.user!)).toBe(false);

    // Idempotent: a second revoke (another replica, a lost reply) finds nothing and succeeds.
    await expect(provider.revoke(revokeInput(system, input.grantId, issued.state))).resolves.toBeUndefined();
  });

  it('the credential itself stops logging in at its deadline, with no revoke at all', async () => {
    const input = issueInput(system, { expiresAt: Date.now() + 2000 });
    const issued = await provider.issue(input);
    expect(psql(issued.env, 'SELECT 1')).toMatchObject({ status: 0, stdout: '1' });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, input.expiresAt - Date.now()) + 1000));
    const late = psql(issued.env, 'SELECT 1');
    expect(late.status).not.toBe(0);
    expect(late.stderr).toMatch(/password authentication failed/);
    expect(await roleExists(db.superUrl, issued.fields.user!)).toBe(true);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
  });

  it('extend moves the deadline and rotates the password; the old one stops working', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    const openBefore = openSession(issued.env, 2);
    await waitForSession(db.superUrl, issued.fields.user!);
    const later = input.expiresAt + 30 * MINUTE;
    const extended = await provider.extend!({ ...input, expiresAt: later, state: issued.state });
    expect(extended.fields.user).toBe(issued.fields.user);
    expect(extended.fields.expiresAt).toBe(new Date(later).toISOString());
    expect(extended.fields.password).not.toBe(issued.fields.password);
    expect(extended.state).toEqual(issued.state);
    expect(psql(extended.env, 'SELECT current_user')).toMatchObject({ status: 0, stdout: issued.fields.user });
    expect(psql(issued.env, 'SELECT 1').stderr).toMatch(/password authentication failed/);
    // A session opened with the old password carries on: passwords are checked at login.
    expect((await openBefore.exited).code).toBe(0);
    const [row] = await sql<{ rolvaliduntil: Date }>(db.superUrl, 'SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [issued.fields.user]);
    expect(row!.rolvaliduntil.getTime()).toBe(later);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
  });

  it('cleans up a role whose issue reply was lost (empty state), found by its grant mark', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    // What recordIssue stores when issue() threw: no role name at all.
    await provider.revoke(revokeInput(system, input.grantId, {}));
    expect(await roleExists(db.superUrl, issued.fields.user!)).toBe(false);
    // And with nothing to find, an empty state is simply done.
    await expect(provider.revoke(revokeInput(system, randomUUID(), {}))).resolves.toBeUndefined();
  });

  it('refuses to drop a role it did not create for that grant', async () => {
    await expect(provider.revoke(revokeInput(system, randomUUID(), { role: 'app_read' }))).rejects.toThrow(/refusing to touch role "app_read"/);
    const other = await provider.issue(issueInput(system));
    await expect(provider.revoke(revokeInput(system, randomUUID(), other.state))).rejects.toThrow(/refusing/);
    expect(await roleExists(db.superUrl, 'app_read')).toBe(true);
    expect(await roleExists(db.superUrl, other.fields.user!)).toBe(true);
    expect(await roleExists(db.superUrl, 'stint_admin')).toBe(true);
  });

  it('issues again for the same grant (an answer lost in a crash): the same role, a new password, the old one refused', async () => {
    const input = issueInput(system);
    const first = await provider.issue(input);
    const again = await provider.issue(input);
    expect(again.fields.user).toBe(first.fields.user);
    expect(again.fields.password).not.toBe(first.fields.password);
    expect(psql(again.env, 'SELECT current_user')).toMatchObject({ status: 0, stdout: first.fields.user });
    expect(psql(first.env, 'SELECT 1').stderr).toMatch(/password authentication failed/);
    await provider.revoke(revokeInput(system, input.grantId, again.state));
    expect(await roleExists(db.superUrl, first.fields.user!)).toBe(false);
  });

  it('two attempts for one grant at once (a lease that lapsed under a slow database) both succeed, on one role', async () => {
    const input = issueInput(system);
    const [a, b] = await Promise.all([provider.issue(input), provider.issue(input)]);
    expect(a.fields.user).toBe(b.fields.user);
    // Whichever committed last holds the password; exactly one of the two logs in.
    const logins = [a, b].map((issued) => psql(issued.env, 'SELECT current_user').status);
    expect(logins.sort()).toEqual([0, 2]);
    await provider.revoke(revokeInput(system, input.grantId, a.state));
    expect(await roleExists(db.superUrl, a.fields.user!)).toBe(false);
  });

  it('issues again under the name the first attempt used, even after the role template changed', async () => {
    const input = issueInput(system);
    const first = await provider.issue(input);
    const renamed = postgresProvider(pgSystem({ adminUrl: secretEnv(db.adminUrl), roles: ['app_read'], roleNameTemplate: 'jit_{user}_{grant}' }));
    try {
      const again = await renamed.issue(input);
      expect(again.fields.user).toBe(first.fields.user);
      expect(again.state).toEqual({ role: first.fields.user });
      expect(psql(again.env, 'SELECT current_user')).toMatchObject({ status: 0, stdout: first.fields.user });
      await renamed.revoke(revokeInput(system, input.grantId, again.state));
    } finally {
      await renamed.close?.();
    }
  });

  it('fails to issue, and creates nothing, when a group role does not exist: a refusal, not worth a retry', async () => {
    const broken = postgresProvider(pgSystem({ adminUrl: secretEnv(db.adminUrl), roles: ['app_read', 'no_such_group'] }));
    const input = issueInput(system);
    await expect(broken.issue(input)).rejects.toThrow(/create role: role "no_such_group" does not exist/);
    await expect(broken.issue(input)).rejects.toBeInstanceOf(ProviderRefusal);
    expect(await roleExists(db.superUrl, `stint_alice_${grantToken(input.grantId)}`)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------

describe('postgres provider through the real server', () => {
  let open: Harness[] = [];
  const clusters: AuthCluster[] = [];
  let scratch = '';
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'stint-pgprov-'));
  });
  afterEach(async () => {
    for (const h of open) await h.close();
    open = [];
  });
  afterAll(async () => {
    for (const c of clusters) await c.cluster.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function harnessFor(db: AuthCluster): Promise<Harness> {
    const secretFile = join(scratch, `admin-url-${randomBytes(4).toString('hex')}`);
    writeFileSync(secretFile, `${db.adminUrl}\n`, { mode: 0o600 });
    const system = pgSystem({ adminUrl: { file: secretFile }, roles: ['app_read'] });
    const h = await startHarness({
      engine: 'sqlite',
      config: (c) => ({ ...c, systems: [...c.systems, system] }),
      providers: { postgres: postgresProvider },
    });
    open.push(h);
    return h;
  }

  async function activeGrant(h: Harness): Promise<{ grantId: string; credential: IssuedCredential & { expiresAt: string } }> {
    const created = await h.api('alice', 'POST', '/v1/requests', { systemId: 'pg-test', durationSeconds: 300, reason: 'debug a slow query' });
    expect(created.status).toBe(201);
    expect(created.body.request.state).toBe('pending');
    const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(reviewed.status).toBe(200);
    const grantId = (reviewed.body.grant?.id ?? reviewed.body.request.grantId) as string;
    expect(grantId).toBeTruthy();
    const read = await h.api('alice', 'GET', `/v1/grants/${grantId}/credential`);
    expect(read.status).toBe(200);
    return { grantId, credential: read.body.credential };
  }

  const grantRow = (h: Harness, id: string) => h.server.store.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('request, approval, psql, then the deadline: the sweeper drops the role and kills its session', async () => {
    const db = await startAuthCluster('pgsrv');
    clusters.push(db);
    const h = await harnessFor(db);
    const { grantId, credential } = await activeGrant(h);
    const role = credential.fields.user!;
    expect(psql(credential.env, 'SELECT current_user')).toMatchObject({ status: 0, stdout: role });
    expect(psql(credential.env, 'SELECT name FROM widgets')).toMatchObject({ status: 0, stdout: 'sprocket' });
    const session = openSession(credential.env);
    await waitForSession(db.superUrl, role);

    h.clock.advance(5 * MINUTE + 1000);
    await h.server.sweeper.runOnce();

    expect(await grantRow(h, grantId)).toMatchObject({ state: 'ended', end_reason: 'expired', revoke_count: 1 });
    expect(await roleExists(db.superUrl, role)).toBe(false);
    const ended = await session.exited;
    expect(ended.code).not.toBe(0);
    expect(ended.stderr).toMatch(/terminating connection due to administrator command/);
    expect(psql(credential.env, 'SELECT 1').status).not.toBe(0);
  });

  it('a reload that removes the system keeps its provider: at the deadline the role is still dropped', async () => {
    const db = await startAuthCluster('pgreload');
    clusters.push(db);
    const h = await harnessFor(db);
    const { grantId, credential } = await activeGrant(h);
    const role = credential.fields.user!;
    h.server.reload({ ...h.config, systems: h.config.systems.filter((s) => s.id !== 'pg-test') });
    expect((await h.api(null, 'GET', '/metrics')).body).toMatch(/stint_retired_providers 1\b/);
    expect((await h.api('alice', 'GET', '/v1/systems')).body.systems.map((s: { id: string }) => s.id)).not.toContain('pg-test');

    h.clock.advance(5 * MINUTE + 1000);
    await h.server.sweeper.runOnce();
    expect(await grantRow(h, grantId)).toMatchObject({ state: 'ended', end_reason: 'expired', last_error: null });
    expect(await roleExists(db.superUrl, role)).toBe(false);
    // Its last grant ended: the retired provider is let go.
    expect((await h.api(null, 'GET', '/metrics')).body).toMatch(/stint_retired_providers 0\b/);
  });

  it('after a reload and a restart without the system, the provider is rebuilt from what the grant recorded, and revokes', async () => {
    const db = await startAuthCluster('pgrestart');
    clusters.push(db);
    const h = await harnessFor(db);
    const { grantId, credential } = await activeGrant(h);
    const role = credential.fields.user!;
    await h.restart({ config: (base) => base }); // the configuration without pg-test
    expect(h.config.systems.map((s) => s.id)).not.toContain('pg-test');
    h.clock.advance(5 * MINUTE + 1000);
    await h.server.sweeper.runOnce();
    expect(await grantRow(h, grantId)).toMatchObject({ state: 'ended', last_error: null });
    expect(await roleExists(db.superUrl, role)).toBe(false);
  });

  it('keeps retrying a revoke while PostgreSQL is down, and finishes it once it is back', async () => {
    const db = await startAuthCluster('pgout');
    clusters.push(db);
    const h = await harnessFor(db);
    const { grantId, credential } = await activeGrant(h);
    const role = credential.fields.user!;
    expect(psql(credential.env, 'SELECT 1')).toMatchObject({ status: 0 });

    await db.cluster.stop();
    h.clock.advance(5 * MINUTE + 1000);
    await h.server.sweeper.runOnce();
    let row = await grantRow(h, grantId);
    expect(row.state).toBe('revoking');
    expect(row.revoke_attempts).toBeGreaterThanOrEqual(1);
    expect(row.last_error).toMatch(/connecting as admin/);
    expect(row.last_error).not.toContain(db.adminPassword);
    const metrics = (await h.api(null, 'GET', '/metrics')).body as string;
    const failures = Number(/stint_revoke_failures_total\{provider="postgres"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    expect(failures).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/stint_revokes_pending 1\b/);
    // The grantee (and an admin) see it as revoking through the API, not only in the database.
    const mine = await h.api('alice', 'GET', '/v1/grants?scope=mine');
    expect(mine.body.grants.find((g: { id: string }) => g.id === grantId)).toMatchObject({ state: 'revoking', endReason: 'expired' });

    await db.cluster.start();
    expect(await roleExists(db.superUrl, role)).toBe(true);
    h.clock.advance(row.next_attempt_at! - h.clock.ms);
    await h.server.sweeper.runOnce();
    row = await grantRow(h, grantId);
    expect(row).toMatchObject({ state: 'ended', last_error: null, revoke_count: 1 });
    expect(await roleExists(db.superUrl, role)).toBe(false);
    expect((await h.api(null, 'GET', '/metrics')).body).toMatch(/stint_revokes_pending 0\b/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('postgres provider settings', () => {
  const url = 'postgres://admin:s3cret-admin-pw@db.internal:6543/app';
  const make = (settings: Record<string, unknown>) => () => postgresProvider(pgSystem(settings));

  it('names the setting that is wrong', () => {
    const adminUrl = secretEnv(url);
    expect(make({ adminUrl })).toThrow(/^roles: /);
    expect(make({ adminUrl, roles: [] })).toThrow(/^roles: name at least one group role/);
    expect(make({ roles: ['app_read'] })).toThrow(/^adminUrl: /);
    expect(make({ adminUrl: 'postgres://inline@secret/db', roles: ['app_read'] })).toThrow(/^adminUrl: /);
    expect(make({ adminUrl: { env: 'STINT_TEST_PG_UNSET_VARIABLE' }, roles: ['app_read'] })).toThrow(/^adminUrl: the environment variable STINT_TEST_PG_UNSET_VARIABLE is not set/);
    expect(make({ adminUrl: { file: '/nonexistent/admin-url' }, roles: ['app_read'] })).toThrow(/^adminUrl: cannot read the secret file/);
    expect(make({ adminUrl, roles: ['app_read'], sslmode: 'maybe' })).toThrow(/^sslmode: /);
    expect(make({ adminUrl, roles: ['app_read'], connectPort: 0 })).toThrow(/^connectPort: /);
    expect(make({ adminUrl, roles: ['a'.repeat(64)] })).toThrow(/^roles\.0: at most 63 bytes/);
    expect(make({ adminUrl, roles: ['app_read'], password: 'x' })).toThrow(/Unrecognized key/);
    expect(make({ adminUrl, roles: ['app_read'], roleNameTemplate: 'stint_{user}' })).toThrow(/^roleNameTemplate: must contain \{grant\}/);
    expect(make({ adminUrl, roles: ['app_read'], roleNameTemplate: '{grant}_{team}' })).toThrow(/^roleNameTemplate: unknown placeholder \{team\}/);
    expect(make({ adminUrl, roles: ['app_read'], roleNameTemplate: `${'long_'.repeat(8)}{user}_{grant}` })).toThrow(/^roleNameTemplate: names can reach 76 bytes/);
    expect(make({ adminUrl, roles: ['app_read'], roleNameTemplate: 'pg_{grant}' })).toThrow(/^roleNameTemplate: names starting with pg_ are reserved/);
  });

  it('never echoes the admin URL secret in its errors', () => {
    for (const value of ['not a url s3cret-admin-pw', 'mysql://root:s3cret-admin-pw@db/app', 'postgres://root:s3cret-admin-pw@/app?host=/run/postgresql']) {
      const error = (() => {
        try {
          make({ adminUrl: secretEnv(value), roles: ['app_read'] })();
        } catch (e) {
          return e as Error;
        }
        throw new Error(`accepted ${value}`);
      })();
      expect(error.message).toMatch(/^(adminUrl|connectHost): /);
      expect(error.message).not.toContain('s3cret-admin-pw');
    }
  });

  it('builds without connecting, with connection details from the admin URL unless overridden', async () => {
    // Nothing listens on db.internal: a factory that connected would fail here or hang.
    const provider = make({ adminUrl: secretEnv(url), roles: ['app_read'] })();
    expect(provider).toMatchObject({ type: 'postgres', needsPublicKey: false });
    // Through the registry, as at boot: the message names the system and the setting.
    const registry = new ProviderRegistry().register('postgres', postgresProvider);
    expect(() => registry.configure([pgSystem({ adminUrl: secretEnv(url) })])).toThrow(/systems\.pg-test\.provider\.settings: roles: /);
  });

  it('renders role names from sanitised placeholders and the grant token', () => {
    const grantId = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const token = grantToken(grantId);
    expect(renderRoleName('stint_{user}_{grant}', { user: 'Alice.Adams@Example.com', grantId, system: 'prod-db' })).toBe(`stint_alice_adams_example_${token}`);
    expect(renderRoleName('{system}_{user}_{grant}', { user: '---', grantId, system: 'prod-db' })).toBe(`prod_db_user_${token}`);
    expect(renderRoleName('s_{user}_{grant}', { user: 'Ünïcødé 用户', grantId, system: 'x' })).toBe(`s_n_c_d_${token}`);
  });

});

// ---------------------------------------------------------------------------------------------

describe('postgres provider timing', () => {
  it('timing (informational)', async () => {
    // The run's shared cluster (trust auth; timings of the admin's statements only).
    const adminUrl = inject('pgAdminUrl');
    const group = `timing_group_${randomBytes(4).toString('hex')}`;
    await sql(adminUrl, `CREATE ROLE ${group} NOLOGIN`);
    try {
      const system = pgSystem({ adminUrl: secretEnv(adminUrl), roles: [group] });
      const provider = postgresProvider(system);
      const issueMs: number[] = [];
      const revokeMs: number[] = [];
      for (let i = 0; i < 11; i++) {
        const input = issueInput(system);
        let t = performance.now();
        const issued = await provider.issue(input);
        const issueTook = performance.now() - t;
        t = performance.now();
        await provider.revoke(revokeInput(system, input.grantId, issued.state));
        const revokeTook = performance.now() - t;
        // The first round opens the pool's connection: not what a steady server sees.
        if (i > 0) {
          issueMs.push(issueTook);
          revokeMs.push(revokeTook);
        }
      }
      const median = (xs: number[]) => {
        const s = [...xs].sort((a, b) => a - b);
        return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
      };
      console.log(`[postgres provider] median over ${issueMs.length} runs: issue ${median(issueMs).toFixed(1)} ms, revoke ${median(revokeMs).toFixed(1)} ms`);
      expect(issueMs).toHaveLength(10);
    } finally {
      await sql(adminUrl, `DROP ROLE IF EXISTS ${group}`);
    }
  });
});
