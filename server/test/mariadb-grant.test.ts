// A grant on a MariaDB system through the real server, with the built-in provider registry (no
// injected providers): request, approval, the credential used, then the deadline. The sweeper's
// run ends the grant with the account dropped and its open connection killed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MARIADB_CLI, startMariaDb, type MariaDbServer } from '../../test-support/mariadb';
import { SystemConfig } from '../src/config/schema';
import { MINUTE, startHarness, type Harness } from './harness';

let db: MariaDbServer;
let h: Harness;
let scratch = '';

beforeAll(async () => {
  db = await startMariaDb();
  const setup = db.sql(
    [
      'CREATE DATABASE shop',
      'CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(40))',
      "INSERT INTO shop.orders VALUES (1, 'sprocket')",
      "GRANT SELECT ON shop.* TO stint_admin@'%' WITH GRANT OPTION",
    ].join('; '),
  );
  expect(setup).toMatchObject({ status: 0, stderr: '' });
  scratch = mkdtempSync(join(tmpdir(), 'stint-mariadb-grant-'));
  const secretFile = join(scratch, 'admin-url');
  writeFileSync(secretFile, `${db.adminUrl}\n`, { mode: 0o600 });
  const system = SystemConfig.parse({
    id: 'shop',
    name: 'Shop database',
    provider: { type: 'mariadb', settings: { adminUrl: { file: secretFile }, grants: ['SELECT ON shop.*'], database: 'shop' } },
    durations: { presets: ['5m'], max: '1h' },
    requesters: ['engineering'],
    approvers: ['sre-leads'],
    approvalsRequired: 1,
    justification: 'optional',
  });
  h = await startHarness({ engine: 'sqlite', config: (c) => ({ ...c, systems: [...c.systems, system] }) });
});

afterAll(async () => {
  await h?.close();
  await db?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const accountExists = (user: string) => db.sql(`SELECT COUNT(*) FROM mysql.user WHERE User = '${user}'`).stdout === '1';

it('a grant on a MariaDB system ends at its deadline with its account gone and its connection killed', async () => {
  const created = await h.api('alice', 'POST', '/v1/requests', { systemId: 'shop', durationSeconds: 300, reason: 'look at a stuck order' });
  expect(created.status).toBe(201);
  const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
  expect(reviewed.status).toBe(200);
  const grantId = (reviewed.body.grant?.id ?? reviewed.body.request.grantId) as string;
  const read = await h.api('alice', 'GET', `/v1/grants/${grantId}/credential`);
  expect(read.status).toBe(200);
  const env = read.body.credential.env as Record<string, string>;
  const user = env.STINT_MARIADB_USER!;
  expect(user).toMatch(/^stint_alice_[a-z2-7]{15}$/);

  // The connect line's command (mysql --protocol=TCP -h -P -u -D), password from MYSQL_PWD.
  const select = spawnSync(
    MARIADB_CLI,
    ['--no-defaults', '--protocol=TCP', '-h', env.STINT_MARIADB_HOST!, '-P', env.STINT_MARIADB_PORT!, '-u', user, '-D', env.STINT_MARIADB_DATABASE!, '--batch', '--skip-column-names', '-e', 'SELECT item FROM orders'],
    { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' },
  );
  expect(select.stdout.trim()).toBe('sprocket');
  const open: Connection = await createConnection(env.DATABASE_URL!);
  open.on('error', () => undefined);
  expect((await open.query('SELECT item FROM orders'))[0]).toEqual([{ item: 'sprocket' }]);

  // One second before the deadline the sweeper leaves it; past it, one run ends it.
  h.clock.advance(5 * MINUTE - 1000);
  await h.server.sweeper.runOnce();
  expect(accountExists(user)).toBe(true);
  h.clock.advance(2000);
  await h.server.sweeper.runOnce();

  const row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
  expect(row).toMatchObject({ state: 'ended', end_reason: 'expired', revoke_count: 1, last_error: null });
  expect(accountExists(user)).toBe(false);
  await expect(open.query('SELECT 1')).rejects.toThrow();
  open.destroy();
});
