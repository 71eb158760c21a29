// A bundle through the real server with real members (issue 21): `incident` holds an SSH host
// (certificates from a CA, ended early through the KRL) and a Redis cache (an ACL user per
// grant). One request, one review, one countdown; each member's credential issued and revoked
// by its own provider; a member that cannot be issued takes back the others and is named.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../test-support/redis';
import { generateKeyPair } from '../../test-support/sshd';
import { ServerConfig } from '../src/config/schema';
import { buildKrl } from '../src/providers/ssh-krl';
import { MINUTE, startHarness, type Harness } from './harness';

const execFileAsync = promisify(execFile);

let redis: RedisServer;
let h: Harness;
let scratch = '';
let userPublicKey = '';

beforeAll(async () => {
  redis = await startRedis();
  redis.cli(['SET', 'app:greeting', 'hello']);
  scratch = mkdtempSync(join(tmpdir(), 'stint-bundle-grant-'));
  const adminUrl = join(scratch, 'admin-url');
  writeFileSync(adminUrl, `${redis.adminUrl}\n`, { mode: 0o600 });
  const caKey = await generateKeyPair(scratch, 'ca');
  userPublicKey = readFileSync(`${await generateKeyPair(scratch, 'user')}.pub`, 'utf8').trim();
  const policy = { durations: { presets: ['15m'], max: '1h' }, requesters: ['engineering'], approvers: ['sre-leads'], approvalsRequired: 1, justification: 'optional' };
  h = await startHarness({
    engine: 'sqlite',
    config: (base) =>
      ServerConfig.parse({
        issuer: base.issuer,
        audience: base.audience,
        groupsClaim: 'groups',
        credentialKey: { env: 'UNUSED' },
        systems: [
          { id: 'bastion', name: 'Bastion', provider: { type: 'ssh', settings: { caKey: { file: caKey }, principals: ['{user}'], host: '127.0.0.1', port: 22 } }, ...policy },
          { id: 'cache', name: 'Session cache', provider: { type: 'redis', settings: { adminUrl: { file: adminUrl }, keys: ['app:*'] } }, ...policy },
          { id: 'incident', name: 'Incident response', risk: 'high', provider: { type: 'bundle', settings: { systems: ['bastion', 'cache'] } }, ...policy },
        ],
      }),
  });
});

afterAll(async () => {
  await h?.close();
  await redis?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const redisUser = (user: string) => redis.cli(['ACL', 'GETUSER', user]).stdout !== '';
const stintRedisUsers = () => redis.cli(['ACL', 'USERS']).stdout.split('\n').filter((u) => u.startsWith('stint_'));

/** ssh-keygen -Q against the server's KRL as it is now: 'revoked' once a host would refuse the certificate. */
async function krlVerdict(certificate: string): Promise<'ok' | 'revoked'> {
  const krl = join(scratch, `now-${Date.now()}.krl`);
  const cert = join(scratch, `cert-${Date.now()}-cert.pub`);
  writeFileSync(krl, await buildKrl(h.server.store.db, h.server.ctx.config().systems, h.clock.now()));
  writeFileSync(cert, `${certificate}\n`);
  try {
    await execFileAsync('ssh-keygen', ['-Q', '-f', krl, cert]);
    return 'ok';
  } catch (error) {
    if ((error as { code?: number }).code === 1) return 'revoked';
    throw error;
  }
}

async function approvedBundle(person: string) {
  const created = await h.api(person, 'POST', '/v1/requests', { systemId: 'incident', durationSeconds: 900, reason: 'INC-7 checkout is down', publicKey: userPublicKey });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
  expect(reviewed.status, JSON.stringify(reviewed.body)).toBe(200);
  return { requestId: created.body.request.id as string, grantId: (reviewed.body.grant?.id ?? reviewed.body.request.grantId) as string };
}

describe('a bundle of an SSH host and a Redis cache', () => {
  it('shows its members in the catalog, so the approver and the requester know what one request gives', async () => {
    const { body } = await h.api('alice', 'GET', '/v1/systems');
    const incident = body.systems.find((s: { id: string }) => s.id === 'incident');
    expect(incident.bundle).toEqual([
      { id: 'bastion', name: 'Bastion', provider: 'ssh' },
      { id: 'cache', name: 'Session cache', provider: 'redis' },
    ]);
    expect(incident.needsPublicKey).toBe(true);
  });

  it('one approval issues both: a certificate for the key and an ACL user; an early release ends both', async () => {
    const person = await h.person('erin', ['engineering']);
    const { grantId } = await approvedBundle(person);
    const read = await h.api(person, 'GET', `/v1/grants/${grantId}/credential`);
    expect(read.status).toBe(200);
    const { fields, env } = read.body.credential as { fields: Record<string, string>; env: Record<string, string> };
    expect(fields['bastion.certificate']).toMatch(/^ssh-ed25519-cert-v01@openssh.com /);
    expect(env.STINT_SSH_USER).toBe('erin');
    const get = spawnSync('redis-cli', ['--user', env.STINT_REDIS_USER!, '-h', env.STINT_REDIS_HOST!, '-p', env.STINT_REDIS_PORT!, 'GET', 'app:greeting'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
    expect(get.stdout.trim()).toBe('hello');
    expect(await krlVerdict(fields['bastion.certificate']!)).toBe('ok');
    // The audit row says what one approval gave (and its export carries it).
    const activated = await h.server.store.db.selectFrom('audit').select('detail').where('action', '=', 'grant.activated').where('target_id', '=', grantId).executeTakeFirstOrThrow();
    expect(JSON.parse(activated.detail).members).toEqual([
      { id: 'bastion', provider: 'ssh' },
      { id: 'cache', provider: 'redis' },
    ]);

    const released = await h.api(person, 'POST', `/v1/grants/${grantId}/release`, {});
    expect(released.status, JSON.stringify(released.body)).toBeLessThan(300);
    await h.server.sweeper.runOnce();
    const row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'ended', end_reason: 'released', last_error: null });
    expect(redisUser(env.STINT_REDIS_USER!)).toBe(false);
    // The certificate would still be valid by its dates: the KRL is what ends it at the hosts.
    expect(await krlVerdict(fields['bastion.certificate']!)).toBe('revoked');
  });

  it('runs to its deadline as one countdown, and both members end at it', async () => {
    const person = await h.person('frank', ['engineering']);
    const { grantId } = await approvedBundle(person);
    const { env } = (await h.api(person, 'GET', `/v1/grants/${grantId}/credential`)).body.credential as { env: Record<string, string> };
    h.clock.advance(15 * MINUTE + 1000);
    await h.server.sweeper.runOnce();
    const row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'ended', end_reason: 'expired', last_error: null });
    expect(redisUser(env.STINT_REDIS_USER!)).toBe(false);
  });

  it('with the cache down: the certificate is taken back, the error names the cache, and the grant is issued once it is up', async () => {
    const person = await h.person('gina', ['engineering']);
    await redis.stop();
    let grantId = '';
    try {
      ({ grantId } = await approvedBundle(person));
      await h.server.sweeper.runOnce();
      const row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
      expect(row.state).not.toBe('active');
      expect(row.last_error).toMatch(/Session cache could not be issued/);
      expect(row.last_error).toMatch(/Bastion was issued and taken back/);
      expect((await h.api(person, 'GET', `/v1/grants/${grantId}/credential`)).status).not.toBe(200);
    } finally {
      await redis.start();
    }
    // The retry issues the whole bundle again, under the same derived names.
    h.clock.advance(MINUTE);
    for (let i = 0; i < 5; i++) {
      await h.server.sweeper.runOnce();
      const row = await h.server.store.db.selectFrom('grants').select('state').where('id', '=', grantId).executeTakeFirstOrThrow();
      if (row.state === 'active') break;
      h.clock.advance(MINUTE);
    }
    const read = await h.api(person, 'GET', `/v1/grants/${grantId}/credential`);
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(stintRedisUsers()).toContain(read.body.credential.env.STINT_REDIS_USER);
  });
});
