// A grant on a Redis system through the real server, with the built-in provider registry (no
// injected providers): request, approval, the credential used, then the deadline. The sweeper's
// run ends the grant with the ACL user deleted and its open connection killed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REDIS_CLI, startRedis, type RedisServer } from '../../test-support/redis';
import { SystemConfig } from '../src/config/schema';
import { MINUTE, startHarness, type Harness } from './harness';

let redis: RedisServer;
let h: Harness;
let scratch = '';

beforeAll(async () => {
  redis = await startRedis();
  redis.cli(['SET', 'app:greeting', 'hello']);
  scratch = mkdtempSync(join(tmpdir(), 'stint-redis-grant-'));
  const secretFile = join(scratch, 'admin-url');
  writeFileSync(secretFile, `${redis.adminUrl}\n`, { mode: 0o600 });
  const system = SystemConfig.parse({
    id: 'cache',
    name: 'Session cache',
    provider: { type: 'redis', settings: { adminUrl: { file: secretFile }, keys: ['app:*'] } },
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
  await redis?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const userExists = (user: string) => redis.cli(['ACL', 'GETUSER', user]).stdout !== '';

it('a grant on a Redis system ends at its deadline with its ACL user gone and its connection killed', async () => {
  const created = await h.api('alice', 'POST', '/v1/requests', { systemId: 'cache', durationSeconds: 300, reason: 'look at a stuck session' });
  expect(created.status).toBe(201);
  const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
  expect(reviewed.status).toBe(200);
  const grantId = (reviewed.body.grant?.id ?? reviewed.body.request.grantId) as string;
  const read = await h.api('alice', 'GET', `/v1/grants/${grantId}/credential`);
  expect(read.status).toBe(200);
  const env = read.body.credential.env as Record<string, string>;
  const user = env.STINT_REDIS_USER!;
  expect(user).toMatch(/^stint_alice_[a-z2-7]{15}$/);

  // The connect line's command, password from REDISCLI_AUTH.
  const get = spawnSync(REDIS_CLI, ['--user', user, '-h', env.STINT_REDIS_HOST!, '-p', env.STINT_REDIS_PORT!, 'GET', 'app:greeting'], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });
  expect(get.stdout.trim()).toBe('hello');
  const open = new Redis(env.REDIS_URL!, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, enableReadyCheck: false });
  open.on('error', () => undefined);
  await open.connect();
  expect(await open.get('app:greeting')).toBe('hello');

  // One second before the deadline the sweeper leaves it; past it, one run ends it.
  h.clock.advance(5 * MINUTE - 1000);
  await h.server.sweeper.runOnce();
  expect(userExists(user)).toBe(true);
  h.clock.advance(2000);
  await h.server.sweeper.runOnce();

  const row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
  expect(row).toMatchObject({ state: 'ended', end_reason: 'expired', revoke_count: 1, last_error: null });
  expect(userExists(user)).toBe(false);
  await expect(open.get('app:greeting')).rejects.toThrow();
  open.disconnect();
});
