// The mariadb provider against a real MariaDB started by the test (test-support/mariadb.ts),
// checked the way a grantee would: Debian's `mariadb` client with the credential's variables
// (the grant card's connect line, password in MYSQL_PWD), and a client library with DATABASE_URL.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createConnection } from 'mysql2/promise';
import { v7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARIADB_CLI, startMariaDb, type MariaDbServer } from '../../../test-support/mariadb';
import { MINUTE } from '../../test/harness';
import { SystemConfig } from '../config/schema';
import { grantToken } from './grant-token';
import { mariadbProvider } from './mariadb';
import { ProviderRefusal, ProviderRegistry, type IssueInput, type Provider } from './provider';

// ---------------------------------------------------------------------------------------------
// The grantee

/** One statement through the connect line: `mariadb --protocol=TCP -h ... -P ... -u ...`, password in MYSQL_PWD. */
function asGrantee(env: Record<string, string>, statement: string): { status: number | null; out: string } {
  const result = spawnSync(
    MARIADB_CLI,
    ['--no-defaults', '--protocol=TCP', '-h', env.STINT_MARIADB_HOST!, '-P', env.STINT_MARIADB_PORT!, '-u', env.STINT_MARIADB_USER!, '--batch', '--skip-column-names', '-e', statement],
    // Only the credential's variables: nothing of this process's may help the login.
    { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 15_000 },
  );
  return { status: result.status, out: `${result.stdout}${result.stderr}`.trim() };
}

/** A connection that stays open (SLEEP) until something ends it. */
function openSession(env: Record<string, string>, seconds = 30) {
  const child = spawn(
    MARIADB_CLI,
    ['--no-defaults', '--protocol=TCP', '-h', env.STINT_MARIADB_HOST!, '-P', env.STINT_MARIADB_PORT!, '-u', env.STINT_MARIADB_USER!, '-e', `SELECT SLEEP(${seconds})`],
    { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const started = Date.now();
  const exited = new Promise<{ code: number | null; output: string; ms: number }>((resolve) => child.on('exit', (code) => resolve({ code, output, ms: Date.now() - started })));
  return { child, exited };
}

async function waitForSession(db: MariaDbServer, user: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (db.sql(`SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '${user}' AND INFO LIKE '%SLEEP%'`).stdout === '1') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no session of ${user} appeared`);
}

/** The error an attempt failed with; a test failure if it succeeded. */
async function failure(attempt: Promise<unknown>): Promise<Error> {
  try {
    await attempt;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the attempt to fail');
}

const accountExists = (db: MariaDbServer, user: string) => db.sql(`SELECT COUNT(*) > 0 FROM mysql.user WHERE User = '${user}'`).stdout === '1';
const stintAccounts = (db: MariaDbServer) =>
  db
    .sql("SELECT User FROM mysql.user WHERE User LIKE 'stint\\_%' AND User <> 'stint_admin' ORDER BY User")
    .stdout.split('\n')
    .filter(Boolean);

// ---------------------------------------------------------------------------------------------
// Systems and inputs

function mariadbSystem(settings: Record<string, unknown>, id = 'shop-db'): SystemConfig {
  return SystemConfig.parse({
    id,
    name: 'Test shop database',
    provider: { type: 'mariadb', settings },
    durations: { presets: ['5m', '15m'], max: '1h' },
    requesters: ['engineering'],
    approvers: ['sre-leads'],
    approvalsRequired: 1,
    justification: 'optional',
  });
}

/** Points a SecretRef at a fresh environment variable holding `value`. */
const secretEnv = (value: string) => {
  const name = `STINT_TEST_MARIADB_ADMIN_${randomBytes(6).toString('hex').toUpperCase()}`;
  process.env[name] = value;
  return { env: name };
};

function issueInput(system: SystemConfig, opts: { login?: string; grantId?: string } = {}): IssueInput {
  const now = Date.now();
  return {
    grantId: opts.grantId ?? randomUUID(),
    requestId: randomUUID(),
    system,
    user: { sub: opts.login ?? 'alice', login: opts.login ?? 'alice', name: 'Alice Adams', email: 'alice@stint.example', groups: ['engineering'] },
    startsAt: now,
    expiresAt: now + 10 * MINUTE,
    publicKey: null,
  };
}

const revokeInput = (system: SystemConfig, grantId: string, state: Record<string, unknown>) => ({ grantId, system, state, reason: 'released' as const });

const GRANTS = ['SELECT ON shop.*', 'INSERT, UPDATE ON shop.orders'];

// ---------------------------------------------------------------------------------------------

describe('mariadb provider against a real MariaDB', () => {
  let db: MariaDbServer;
  let system: SystemConfig;
  let provider: Provider;
  beforeAll(async () => {
    db = await startMariaDb();
    const setup = db.sql(
      [
        'CREATE DATABASE shop',
        'CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40))',
        "INSERT INTO shop.orders VALUES (1, 'sprocket')",
        'CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(40))',
        "INSERT INTO shop.customers VALUES (1, 'Ada')",
        'CREATE DATABASE payroll',
        'CREATE TABLE payroll.salaries (name VARCHAR(40), amount INT)',
        "INSERT INTO payroll.salaries VALUES ('Ada', 100)",
        'CREATE DATABASE shop_1',
        'CREATE TABLE shop_1.t (x INT)',
        'CREATE DATABASE shopx1',
        'CREATE TABLE shopx1.t (x INT)',
        // What the admin may hand out: privileges it holds WITH GRANT OPTION.
        "GRANT ALL PRIVILEGES ON shop.* TO stint_admin@'%' WITH GRANT OPTION",
        "GRANT SELECT ON `shop\\_1`.* TO stint_admin@'%' WITH GRANT OPTION",
      ].join('; '),
    );
    expect(setup).toMatchObject({ status: 0, stderr: "" });
    system = mariadbSystem({ adminUrl: secretEnv(db.adminUrl), grants: GRANTS, database: 'shop' });
    provider = mariadbProvider(system);
  });
  afterAll(async () => {
    await provider?.close?.();
    await db?.destroy();
  });

  it('issues an account that does what its grants allow and nothing more, with a password that works and a wrong one that does not', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    const user = issued.fields.user!;
    expect(user).toBe(`stint_alice_${grantToken(input.grantId)}`);
    expect(issued.state).toEqual({ user, host: '%' });
    expect(issued.fields).toMatchObject({ host: '127.0.0.1', port: String(db.port), database: 'shop', expiresAt: new Date(input.expiresAt).toISOString() });
    expect(issued.fields.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Object.keys(issued.env).sort()).toEqual(['DATABASE_URL', 'MYSQL_PWD', 'STINT_MARIADB_DATABASE', 'STINT_MARIADB_HOST', 'STINT_MARIADB_PORT', 'STINT_MARIADB_USER']);

    expect(asGrantee(issued.env, 'SELECT CURRENT_USER()')).toEqual({ status: 0, out: `${user}@%` });
    expect(asGrantee(issued.env, 'SELECT item FROM shop.orders')).toEqual({ status: 0, out: 'sprocket' });
    expect(asGrantee(issued.env, 'SELECT name FROM shop.customers')).toEqual({ status: 0, out: 'Ada' });
    expect(asGrantee(issued.env, "INSERT INTO shop.orders VALUES (2, 'gear')")).toEqual({ status: 0, out: '' });
    expect(asGrantee(issued.env, "UPDATE shop.orders SET item = 'cog' WHERE id = 2")).toEqual({ status: 0, out: '' });
    expect(asGrantee(issued.env, 'DELETE FROM shop.orders WHERE id = 2').out).toMatch(/ERROR 1142 .*DELETE command denied/);
    expect(asGrantee(issued.env, "INSERT INTO shop.customers VALUES (2, 'Bo')").out).toMatch(/ERROR 1142 .*INSERT command denied/);
    expect(asGrantee(issued.env, 'SELECT * FROM payroll.salaries').out).toMatch(/ERROR 1142 .*SELECT command denied/);
    expect(asGrantee(issued.env, 'SELECT * FROM mysql.global_priv').out).toMatch(/ERROR 1142 .*SELECT command denied/);
    expect(asGrantee(issued.env, 'SELECT * FROM stint.grant_accounts').out).toMatch(/ERROR 1142 .*SELECT command denied/);
    expect(asGrantee(issued.env, 'DROP TABLE shop.orders').out).toMatch(/ERROR 1142 .*DROP command denied/);
    expect(asGrantee(issued.env, "CREATE USER mallory@'%'").out).toMatch(/ERROR 1227 .*CREATE USER privilege/);
    expect(asGrantee(issued.env, 'SHOW GRANTS').out.split('\n').slice(1)).toEqual([
      `GRANT SELECT ON \`shop\`.* TO \`${user}\`@\`%\``,
      `GRANT INSERT, UPDATE ON \`shop\`.\`orders\` TO \`${user}\`@\`%\``,
    ]);
    const wrong = asGrantee({ ...issued.env, MYSQL_PWD: 'not-the-password' }, 'SELECT 1');
    expect(wrong.out).toMatch(/ERROR 1045 .*Access denied/);

    // DATABASE_URL is a working connection string (user and password URL-encoded, database shop).
    const client = await createConnection(issued.env.DATABASE_URL!);
    const [rows] = await client.query('SELECT item FROM orders WHERE id = 1');
    expect(rows).toEqual([{ item: 'sprocket' }]);
    await client.end();

    // Only the password's stored form reached the server: the general log (every statement)
    // shows the CREATE USER, not the password; neither does the state.
    const log = readFileSync(db.generalLog, 'utf8');
    expect(log).toContain(`CREATE USER '${user}'@'%' IDENTIFIED WITH mysql_native_password AS '*`);
    expect(log).not.toContain(issued.fields.password);
    expect(JSON.stringify(issued.state)).not.toContain(issued.fields.password);
    // The ownership mark.
    expect(db.sql(`SELECT user, host, dropped_at IS NULL FROM stint.grant_accounts WHERE grant_id = '${input.grantId}'`).stdout).toBe(`${user}\t%\t1`);
    expect(db.sql(`SELECT max_user_connections FROM mysql.user WHERE User = '${user}'`).stdout).toBe('10');

    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(accountExists(db, user)).toBe(false);
    expect(db.sql(`SELECT dropped_at IS NOT NULL FROM stint.grant_accounts WHERE grant_id = '${input.grantId}'`).stdout).toBe('1');
  });

  it("grants on a database named with _ give that database only (MariaDB reads _ in a database grant as a wildcard)", async () => {
    const underscored = mariadbSystem({ adminUrl: secretEnv(db.adminUrl), grants: ['SELECT ON shop_1.*'] });
    const other = mariadbProvider(underscored);
    const input = issueInput(underscored);
    const issued = await other.issue(input);
    expect(asGrantee(issued.env, 'SELECT COUNT(*) FROM shop_1.t')).toEqual({ status: 0, out: '0' });
    expect(asGrantee(issued.env, 'SELECT COUNT(*) FROM shopx1.t').out).toMatch(/ERROR 1142 .*SELECT command denied/);
    await other.revoke(revokeInput(underscored, input.grantId, issued.state));
    await other.close?.();
  });

  it('gives two grants made in the same second their own accounts, even for users whose names read alike', async () => {
    const second = Date.now();
    const first = issueInput(system, { login: 'Bob.Smith', grantId: v7({ msecs: second }) });
    const other = issueInput(system, { login: 'bob.smith', grantId: v7({ msecs: second + 1 }) });
    expect(first.grantId.slice(0, 8)).toBe(other.grantId.slice(0, 8));
    const [a, b] = [await provider.issue(first), await provider.issue(other)];
    expect(a.fields.user).not.toBe(b.fields.user);
    expect(asGrantee(a.env, 'SELECT CURRENT_USER()').out).toBe(`${a.fields.user}@%`);
    expect(asGrantee(b.env, 'SELECT CURRENT_USER()').out).toBe(`${b.fields.user}@%`);
    await provider.revoke(revokeInput(system, first.grantId, a.state));
    expect(asGrantee(b.env, 'SELECT 1')).toEqual({ status: 0, out: '1' }); // one's revoke leaves the other alone
    await provider.revoke(revokeInput(system, other.grantId, b.state));
  });

  it('keeps a hostile login name inside the account name, and drops nothing else', async () => {
    const input = issueInput(system, { login: `robert'); DROP USER root@localhost; --"x\`` });
    const issued = await provider.issue(input);
    const user = issued.fields.user!;
    expect(user).toBe(`stint_robert_drop_user_roo_${grantToken(input.grantId)}`);
    expect(asGrantee(issued.env, 'SELECT CURRENT_USER()').out).toBe(`${user}@%`);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(accountExists(db, user)).toBe(false);
    expect(db.sql("SELECT User FROM mysql.user WHERE User IN ('root', 'stint_admin') GROUP BY User ORDER BY User").stdout).toBe('root\nstint_admin');
  });

  it('revoke ends open connections and drops the account; a second revoke succeeds', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    const session = openSession(issued.env);
    await waitForSession(db, issued.fields.user!);
    const library = await createConnection(issued.env.DATABASE_URL!);
    library.on('error', () => undefined);
    await library.query('SELECT 1');

    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    const ended = await session.exited;
    expect(ended.code).not.toBe(0);
    expect(ended.output).toMatch(/Lost connection|server has gone away|Connection was killed/);
    expect(ended.ms).toBeLessThan(10_000);
    await expect(library.query('SELECT 1')).rejects.toThrow();
    library.destroy();
    expect(accountExists(db, issued.fields.user!)).toBe(false);
    expect(db.sql(`SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '${issued.fields.user}'`).stdout).toBe('0');
    expect(asGrantee(issued.env, 'SELECT 1').out).toMatch(/ERROR 1045 .*Access denied/);

    // Idempotent: a second revoke (another replica, a lost reply) finds the drop noted and succeeds.
    await expect(provider.revoke(revokeInput(system, input.grantId, issued.state))).resolves.toBeUndefined();
    await expect(provider.revoke(revokeInput(system, input.grantId, {}))).resolves.toBeUndefined();
  });

  it('a revoke that stopped after dropping the account (before noting it) is finished by the next one', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    db.sql(`DROP USER '${issued.fields.user}'@'%'`);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(db.sql(`SELECT dropped_at IS NOT NULL FROM stint.grant_accounts WHERE grant_id = '${input.grantId}'`).stdout).toBe('1');
    // ... and a revoked grant is never issued again.
    await expect(provider.issue(input)).rejects.toThrow(/already revoked/);
  });

  it('issues again for the same grant (an answer lost in a crash): one account, the new password, the old one refused', async () => {
    const input = issueInput(system);
    const first = await provider.issue(input);
    const again = await provider.issue(input);
    expect(again.fields.user).toBe(first.fields.user);
    expect(again.fields.password).not.toBe(first.fields.password);
    expect(stintAccounts(db)).toEqual([first.fields.user]);
    expect(asGrantee(again.env, 'SELECT item FROM shop.orders WHERE id = 1')).toEqual({ status: 0, out: 'sprocket' });
    expect(asGrantee(first.env, 'SELECT 1').out).toMatch(/ERROR 1045/);
    await provider.revoke(revokeInput(system, input.grantId, again.state));
    expect(stintAccounts(db)).toEqual([]);
  });

  it('takes up an account whose privileges were changed since, and sets them as configured', async () => {
    const input = issueInput(system);
    const first = await provider.issue(input);
    db.sql(`GRANT DELETE ON shop.* TO '${first.fields.user}'@'%'`);
    db.sql(`ALTER USER '${first.fields.user}'@'%' ACCOUNT LOCK`);
    const again = await provider.issue(input);
    expect(asGrantee(again.env, 'SHOW GRANTS').out).not.toMatch(/DELETE/);
    expect(asGrantee(again.env, 'SELECT 1')).toEqual({ status: 0, out: '1' });
    await provider.revoke(revokeInput(system, input.grantId, again.state));
  });

  it('two attempts for one grant at once (a lease that lapsed under a slow server) both succeed, on one account', async () => {
    const input = issueInput(system);
    const [a, b] = await Promise.all([provider.issue(input), provider.issue(input)]);
    expect(a.fields.user).toBe(b.fields.user);
    // Whichever finished last holds the password; exactly one of the two logs in.
    const logins = [a, b].map((issued) => asGrantee(issued.env, 'SELECT 1').status);
    expect(logins.sort()).toEqual([0, 1]);
    await provider.revoke(revokeInput(system, input.grantId, a.state));
    expect(accountExists(db, a.fields.user!)).toBe(false);
  });

  it('issues again under the name the first attempt used, even after the template changed; a lost reply is cleaned up by its mark', async () => {
    const input = issueInput(system);
    const first = await provider.issue(input);
    const renamed = mariadbProvider(mariadbSystem({ adminUrl: secretEnv(db.adminUrl), grants: GRANTS, userNameTemplate: 'jit_{user}_{grant}', accountHost: '127.0.0.1' }));
    try {
      const again = await renamed.issue(input);
      expect(again.fields.user).toBe(first.fields.user);
      expect(again.state).toEqual({ user: first.fields.user, host: '%' });
      // What recordIssue stores when issue() threw: no account name at all.
      await renamed.revoke(revokeInput(system, input.grantId, {}));
      expect(accountExists(db, first.fields.user!)).toBe(false);
      await expect(renamed.revoke(revokeInput(system, randomUUID(), {}))).resolves.toBeUndefined();
    } finally {
      await renamed.close?.();
    }
  });

  it('leaves alone accounts it did not create for that grant', async () => {
    const input = issueInput(system);
    const name = `stint_alice_${grantToken(input.grantId)}`;
    db.sql(`CREATE USER '${name}'@'%' IDENTIFIED BY 'theirs'; GRANT SELECT ON payroll.* TO '${name}'@'%'`);
    const refused = await failure(provider.issue(input));
    expect(refused).toBeInstanceOf(ProviderRefusal);
    expect(refused.message).toMatch(/exists and was not created by Stint/);
    expect(db.sql(`SHOW GRANTS FOR '${name}'@'%'`).stdout).toContain('payroll');
    // Nothing marked: a revoke for that grant (its issue failed) does not drop their account.
    await provider.revoke(revokeInput(system, input.grantId, {}));
    expect(accountExists(db, name)).toBe(true);
    db.sql(`DROP USER '${name}'@'%'`);

    await expect(provider.revoke(revokeInput(system, randomUUID(), { user: 'root', host: 'localhost' }))).rejects.toThrow(/refusing to touch account "root"/);
    await expect(provider.revoke(revokeInput(system, randomUUID(), { user: 'stint_admin' }))).rejects.toThrow(/refusing to touch account "stint_admin"/);
    const other = await provider.issue(issueInput(system));
    await expect(provider.revoke(revokeInput(system, randomUUID(), other.state))).rejects.toThrow(/refusing/);
    expect(accountExists(db, 'root')).toBe(true);
    expect(accountExists(db, 'stint_admin')).toBe(true);
    expect(accountExists(db, other.fields.user!)).toBe(true);
    await provider.revoke(revokeInput(system, randomUUID(), {})); // another grant's lost reply: `other` is not its
    expect(accountExists(db, other.fields.user!)).toBe(true);
    db.sql(`DROP USER '${other.fields.user}'@'%'`);
  });

  it("refuses (no retry can help) a grant the server cannot make, and an admin it will not let in; leaves no account", async () => {
    const noTable = mariadbProvider(mariadbSystem({ adminUrl: secretEnv(db.adminUrl), grants: ['SELECT ON shop.no_such_table'] }));
    const input = issueInput(system);
    const error = await failure(noTable.issue(input));
    expect(error).toBeInstanceOf(ProviderRefusal);
    expect(error.message).toMatch(/grant privileges: Table 'shop.no_such_table' doesn't exist \(SQLSTATE 42S02\)/);
    expect(accountExists(db, `stint_alice_${grantToken(input.grantId)}`)).toBe(false);

    const notHeld = mariadbProvider(mariadbSystem({ adminUrl: secretEnv(db.adminUrl), grants: ['SELECT ON payroll.*'] }));
    const payroll = issueInput(system);
    const denied = await failure(notHeld.issue(payroll));
    expect(denied).toBeInstanceOf(ProviderRefusal);
    expect(denied.message).toMatch(/grant privileges: Access denied for user 'stint_admin'/);
    expect(accountExists(db, `stint_alice_${grantToken(payroll.grantId)}`)).toBe(false);

    const wrongAdmin = mariadbProvider(mariadbSystem({ adminUrl: secretEnv(db.adminUrl.replace(db.adminPassword, 'wrong-admin-pw')), grants: GRANTS }));
    const refused = await failure(wrongAdmin.issue(input));
    expect(refused).toBeInstanceOf(ProviderRefusal);
    expect(refused.message).toMatch(/connecting as admin: Access denied for user 'stint_admin'.*\(SQLSTATE 28000\)/);
    expect(refused.message).not.toContain('wrong-admin-pw');
    await expect(wrongAdmin.probe!()).rejects.toBeInstanceOf(ProviderRefusal);
  });

  it('probe reaches the server as the admin and finds what revoke needs', async () => {
    await expect(provider.probe!()).resolves.toBeUndefined();
    db.sql("REVOKE PROCESS, CONNECTION ADMIN ON *.* FROM stint_admin@'%'");
    try {
      // Without them the admin sees and ends only its own connections, never the grantee's.
      const error = await failure(provider.probe!());
      expect(error).toBeInstanceOf(ProviderRefusal);
      expect(error.message).toBe("mariadb provider: probe: the admin lacks PROCESS (to see the grantee's connections), CONNECTION ADMIN (to end the grantee's connections) ON *.*");
    } finally {
      db.sql("GRANT PROCESS, CONNECTION ADMIN ON *.* TO stint_admin@'%'");
    }
    await expect(provider.probe!()).resolves.toBeUndefined();
  });

  it('a revoke while the server is down fails as retryable, and succeeds once it is back', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    await db.stop();
    try {
      const started = Date.now();
      const error = await failure(provider.revoke(revokeInput(system, input.grantId, issued.state)));
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(ProviderRefusal);
      expect(error.message).toMatch(/^mariadb provider: revoke: connecting as admin: connect ECONNREFUSED/);
      expect(error.message).not.toContain(db.adminPassword);
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(provider.issue(issueInput(system))).rejects.not.toBeInstanceOf(ProviderRefusal);
      await expect(provider.probe!()).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await db.start();
    }
    expect(accountExists(db, issued.fields.user!)).toBe(true);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(accountExists(db, issued.fields.user!)).toBe(false);
  });

  it('a server that accepts and then says nothing fails the attempt within the connect timeout, retryably', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const stalled = mariadbProvider(mariadbSystem({ adminUrl: secretEnv(`mysql://stint_admin:pw@127.0.0.1:${port}`), grants: GRANTS }));
    try {
      const started = Date.now();
      const error = await failure(stalled.issue(issueInput(system)));
      expect(error.message).toMatch(/connecting as admin: connect ETIMEDOUT/);
      expect(error).not.toBeInstanceOf(ProviderRefusal);
      expect(Date.now() - started).toBeLessThan(6500);
    } finally {
      await stalled.close?.();
      silent.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('mariadb provider settings', () => {
  const url = 'mysql://admin:s3cret-admin-pw@db.internal:3307';
  const make = (settings: Record<string, unknown>) => () => mariadbProvider(mariadbSystem(settings));

  it('names the setting that is wrong', () => {
    const adminUrl = secretEnv(url);
    expect(make({ adminUrl })).toThrow(/^grants: /);
    expect(make({ adminUrl, grants: [] })).toThrow(/^grants: name at least one grant/);
    expect(make({ grants: GRANTS })).toThrow(/^adminUrl: /);
    expect(make({ adminUrl: 'mysql://inline@secret', grants: GRANTS })).toThrow(/^adminUrl: /);
    expect(make({ adminUrl: { env: 'STINT_TEST_MARIADB_UNSET_VARIABLE' }, grants: GRANTS })).toThrow(/^adminUrl: the environment variable STINT_TEST_MARIADB_UNSET_VARIABLE is not set/);
    expect(make({ adminUrl, grants: GRANTS, connectPort: 0 })).toThrow(/^connectPort: /);
    expect(make({ adminUrl, grants: GRANTS, connectionLimit: 0 })).toThrow(/^connectionLimit: /);
    expect(make({ adminUrl, grants: GRANTS, password: 'x' })).toThrow(/Unrecognized key/);
    expect(make({ adminUrl, grants: GRANTS, database: 'shop; DROP DATABASE shop' })).toThrow(/^database: /);
    expect(make({ adminUrl, grants: GRANTS, accountHost: "%' OR '1" })).toThrow(/^accountHost: /);
    expect(make({ adminUrl, grants: GRANTS, marksDatabase: 'mysql' })).toThrow(/^marksDatabase: /);
    expect(make({ adminUrl, grants: GRANTS, userNameTemplate: 'stint_{user}' })).toThrow(/^userNameTemplate: must contain \{grant\}/);
    expect(make({ adminUrl, grants: GRANTS, userNameTemplate: '{grant}_{team}' })).toThrow(/^userNameTemplate: unknown placeholder \{team\}/);
    expect(make({ adminUrl, grants: GRANTS, userNameTemplate: "x'@'%' {grant}" })).toThrow(/^userNameTemplate: letters, digits/);
    expect(make({ adminUrl, grants: GRANTS, userNameTemplate: `${'long_'.repeat(20)}{user}_{grant}` })).toThrow(/^userNameTemplate: names can reach 136 characters; MariaDB keeps 128/);
  });

  it('takes only grants it can take apart, never passing their text on', () => {
    const adminUrl = secretEnv(url);
    const grant = (text: string) => make({ adminUrl, grants: [text] });
    for (const ok of ['SELECT ON shop.*', 'select, insert on `shop`.`orders`', 'ALL ON shop.*', 'CREATE TEMPORARY TABLES,LOCK  TABLES ON shop.*', 'EXECUTE ON app-db.*']) expect(grant(ok), ok).not.toThrow();
    expect(grant('SELECT ON *.*')).toThrow(/^grants\.0: global privileges \(\*\.\*\) are not handed out/);
    expect(grant('SELECT ON mysql.*')).toThrow(/^grants\.0: the mysql database is not handed out/);
    expect(grant('SELECT ON MySQL.user')).toThrow(/^grants\.0: the MySQL database is not handed out/);
    expect(grant('SELECT ON stint.*')).toThrow(/^grants\.0: the marks database \(stint\) is not handed out/);
    expect(grant('SUPER ON shop.*')).toThrow(/^grants\.0: SUPER is not a privilege on a database/);
    expect(grant('GRANT OPTION ON shop.*')).toThrow(/^grants\.0: GRANT OPTION is not/);
    expect(grant('EXECUTE ON shop.orders')).toThrow(/^grants\.0: EXECUTE is not a privilege on a table/);
    expect(grant('SELECT ON shop.orders; DROP DATABASE shop')).toThrow(/^grants\.0: /);
    expect(grant("SELECT ON shop.* TO 'x'@'%'")).toThrow(/^grants\.0: /);
    expect(grant('SELECT ON `sh`op`.*')).toThrow(/^grants\.0: /);
    expect(grant('SELECT ON shop.ord ers')).toThrow(/^grants\.0: /);
    expect(grant('SELECT ON shop')).toThrow(/^grants\.0: "shop" is not database\.\* or database\.table/);
    expect(grant('SELECT (id) ON shop.orders')).toThrow(/^grants\.0: SELECT \(ID\) is not a privilege/);
    expect(grant(', ON shop.*')).toThrow(/^grants\.0: \(empty\) is not a privilege/);
  });

  it('never echoes the admin URL secret in its errors', () => {
    for (const value of ['not a url s3cret-admin-pw', 'postgres://root:s3cret-admin-pw@db/app', 'mysql://:s3cret-admin-pw@db:3306', 'mysql://root:s3cret-admin-pw@/']) {
      const error = (() => {
        try {
          make({ adminUrl: secretEnv(value), grants: GRANTS })();
        } catch (e) {
          return e as Error;
        }
        throw new Error(`accepted ${value}`);
      })();
      expect(error.message).toMatch(/^adminUrl: /);
      expect(error.message).not.toContain('s3cret-admin-pw');
    }
  });

  it('builds without connecting', async () => {
    // Nothing listens on db.internal: a factory that connected would fail here or hang.
    const provider = make({ adminUrl: secretEnv(url), grants: GRANTS })();
    expect(provider).toMatchObject({ type: 'mariadb', needsPublicKey: false });
    const registry = new ProviderRegistry().register('mariadb', mariadbProvider);
    expect(() => registry.configure([mariadbSystem({ adminUrl: secretEnv(url), grants: ['SELECT ON *.*'] })])).toThrow(/systems\.shop-db\.provider\.settings: grants\.0: global privileges/);
  });
});
