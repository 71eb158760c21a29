import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialSealer } from '../src/access/sealer';
import { startDevIdp, type DevIdp } from '../src/dev/idp';
import { startServe, type Serve } from '../../test-support/serve';
import { AUDIENCE, forgeToken } from './harness';

const system = (id: string) => `
  - id: ${id}
    name: ${id}
    provider: { type: demo }
    durations: { presets: [5m], max: 1h }
    requesters: [engineering]
    approvalsRequired: 0
    justification: optional`;

/** Production mode as an operator runs it: a YAML file, SIGHUP to reload, no dev shortcuts. */
describe('stint-server serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stint-serve-'));
  const configFile = join(dir, 'stint.yaml');
  let idp: DevIdp;
  let server: Serve;
  let token = '';
  const writeConfig = (systems: string) =>
    writeFileSync(configFile, `issuer: ${idp.issuer}\naudience: ${AUDIENCE}\ncredentialKey: { file: credential.key }\nsystems:${systems}\n`);
  const api = async (method: string, path: string, body?: unknown, bearer = token) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  beforeAll(async () => {
    const idpDir = join(dir, 'idp');
    idp = await startDevIdp({ port: 0, dataDir: idpDir, audience: AUDIENCE, groupsClaim: 'groups' });
    writeFileSync(join(dir, 'credential.key'), CredentialSealer.generateKey(), { mode: 0o600 });
    writeConfig(system('alpha'));
    token = await forgeToken(idpDir, idp.issuer, { groups: ['engineering'] }, { sub: 'erin' });
    server = await startServe({ config: configFile, database: join(dir, 'db.sqlite'), env: { STINT_LOG_LEVEL: 'info' } });
  });
  afterAll(async () => {
    await server?.stop();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses tokens from the built-in dev IdP outside dev mode', async () => {
    const dev = await api('GET', '/v1/me', undefined, await idp.mintAccessToken('alice'));
    expect(dev.status).toBe(401);
    expect(dev.body.message).toMatch(/Dev tokens are only accepted by a server in dev mode/);
    expect((await api('GET', '/v1/me')).body).toMatchObject({ sub: 'erin' });
  });

  it('reloads the catalog on SIGHUP without dropping state, and refuses a broken file', async () => {
    const grant = (await api('POST', '/v1/requests', { systemId: 'alpha', durationSeconds: 300 })).body.grant;
    expect(grant.state).toBe('active');

    writeConfig(system('alpha') + system('beta'));
    server.child.kill('SIGHUP');
    await expect.poll(async () => (await api('GET', '/v1/systems')).body.systems.map((s: { id: string }) => s.id), { timeout: 5000 }).toEqual(['alpha', 'beta']);
    expect((await api('GET', '/v1/grants?active=true')).body.grants.map((g: { id: string }) => g.id)).toEqual([grant.id]);

    writeFileSync(configFile, 'issuer: [broken\n');
    server.child.kill('SIGHUP');
    await expect.poll(() => server.output(), { timeout: 5000 }).toMatch(/configuration reload refused/);
    expect(server.output()).toMatch(/line \d+/);
    expect((await api('GET', '/v1/systems')).body.systems.map((s: { id: string }) => s.id)).toEqual(['alpha', 'beta']);
  });

  it('never writes a token or a credential to its logs', async () => {
    const grant = (await api('POST', '/v1/requests', { systemId: 'beta', durationSeconds: 300 })).body.grant;
    const secret = (await api('GET', `/v1/grants/${grant.id}/credential`)).body.credential.env.STINT_DEMO_TOKEN as string;
    await api('POST', `/v1/grants/${grant.id}/release`);
    expect(secret).toMatch(/^stint_demo_/);
    expect(server.output()).toMatch(/request completed/); // requests are logged...
    expect(server.output()).not.toContain(secret); // ...without what they carried
    expect(server.output()).not.toContain(token.split('.')[2]);
  });
});
