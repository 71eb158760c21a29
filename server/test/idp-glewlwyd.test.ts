// Stint's server against glewlwyd 2.7.5, an OpenID Provider nobody on this project wrote
// (Debian's own), configured the way docs/identity-providers.md tells a company to. What it
// does differently from the dev IdP: groups in access tokens as one "a,b" string, a random
// sub, no name or email in access tokens, RFC 8707 resource as the audience.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glewlwydAvailable, startGlewlwyd, type Glewlwyd } from '../../test-support/glewlwyd';
import { CredentialSealer } from '../src/access/sealer';
import type { ServerConfig } from '../src/config/schema';
import { devConfig } from '../src/dev/catalog';
import { startServer, type RunningServer } from '../src/server';
import { quietLogger } from './harness';

const unavailable = glewlwydAvailable();
if (unavailable) console.log(`[idp-glewlwyd.test] skipped: ${unavailable}`);

const RESOURCE = 'https://stint.example.test/api';
const CLIENT = { clientId: 'stint-desktop', redirectUri: 'http://127.0.0.1:53682/callback' };
const SCOPE = 'openid profile email groups';
const ALICE = { username: 'alice', password: 'alice-password' };
const BOB = { username: 'bob', password: 'bob-password' };

describe.skipIf(unavailable !== null)('the server trusting glewlwyd, a company IdP', () => {
  let idp: Glewlwyd;
  let dir: string;
  const servers: RunningServer[] = [];

  beforeAll(async () => {
    idp = await startGlewlwyd({
      users: [
        { ...ALICE, name: 'Alice Liddell', email: 'alice@example.test', groups: ['engineering'] },
        { ...BOB, name: 'Bob Builder', email: 'bob@example.test', groups: ['engineering', 'sre-leads'] },
      ],
      clients: [{ clientId: CLIENT.clientId, redirectUris: [CLIENT.redirectUri], resources: [RESOURCE] }],
      accessTokenSeconds: 600,
    });
    dir = mkdtempSync(join(tmpdir(), 'stint-glewlwyd-'));
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await idp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A server configured for glewlwyd: the audience is the resource the app asks for. */
  async function serverWith(identity: Partial<ServerConfig['identity']>) {
    const base = devConfig(idp.issuer, RESOURCE);
    const config: ServerConfig = {
      ...base,
      identity: { ...base.identity, ...identity },
      desktopClient: { ...base.desktopClient, clientId: CLIENT.clientId, authorizationParams: { resource: RESOURCE }, redirectPorts: [53682] },
    };
    const server = await startServer({ config, credentialKey: CredentialSealer.generateKey(), database: join(dir, `${servers.length}.sqlite`), logger: quietLogger(), manualSweep: true });
    servers.push(server);
    return server;
  }
  const signIn = async (who: typeof ALICE) => (await idp.signIn({ ...who, ...CLIENT, scope: SCOPE, resource: RESOURCE })).access_token;
  const call = async (server: RunningServer, token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('reads groups from the access token\'s comma-separated string (the default settings)', async () => {
    const server = await serverWith({});
    const me = await call(server, await signIn(BOB), 'GET', '/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.groups).toEqual(['engineering', 'sre-leads']);
    // Only groups are in glewlwyd's access tokens: the person is their random sub.
    expect(me.body.sub).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(me.body.login).toBe(me.body.sub);
  });

  it('with claims from userinfo: names, email and login too, and a request, an approval and a credential', async () => {
    const server = await serverWith({ claimsFrom: 'userinfo' });
    const alice = await signIn(ALICE);
    const bob = await signIn(BOB);
    const me = await call(server, alice, 'GET', '/v1/me');
    expect(me.body).toMatchObject({ login: 'alice', name: 'Alice Liddell', email: 'alice@example.test', groups: ['engineering'] });
    const created = await call(server, alice, 'POST', '/v1/requests', { systemId: 'staging-db', durationSeconds: 600, reason: 'deploy' });
    expect(created.status).toBe(201);
    const inbox = await call(server, bob, 'GET', '/v1/requests?scope=review');
    expect(inbox.body.requests.map((r: any) => r.requester.name)).toContain('Alice Liddell');
    const reviewed = await call(server, bob, 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(reviewed.body.request.state).toBe('active');
    const credential = await call(server, alice, 'GET', `/v1/grants/${reviewed.body.grant.id}/credential`);
    expect(credential.status).toBe(200);
    expect((await fetch(`${server.url}/readyz`).then((r) => r.json()))).toMatchObject({ status: 'ready', checks: { identityProvider: true, identityMapping: true } });
  });

  it('refuses glewlwyd\'s ID token as a bearer token', async () => {
    const server = await serverWith({});
    const tokens = await idp.signIn({ ...ALICE, ...CLIENT, scope: SCOPE, resource: RESOURCE });
    const refused = await call(server, tokens.id_token!, 'GET', '/v1/me');
    expect(refused.status).toBe(401);
  });

  it('refuses a token issued without the resource (its audience is the scope string), naming the setting', async () => {
    const server = await serverWith({});
    const plain = (await idp.signIn({ ...ALICE, ...CLIENT, scope: SCOPE })).access_token;
    const refused = await call(server, plain, 'GET', '/v1/me');
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/"aud" claim is "openid profile email groups".*desktopClient\.authorizationParams/);
  });

  it('stint-server check-idp shows what a real token gives, and what to change when something is missing', () => {
    const config = join(dir, 'stint.yaml');
    writeFileSync(join(dir, 'credential.key'), CredentialSealer.generateKey(), { mode: 0o600 });
    const write = (claimsFrom: string) =>
      writeFileSync(config, `issuer: ${idp.issuer}\naudience: ${RESOURCE}\ncredentialKey: { file: credential.key }\nidentity: { claimsFrom: ${claimsFrom} }\ndesktopClient: { clientId: ${CLIENT.clientId}, authorizationParams: { resource: '${RESOURCE}' }, redirectPorts: [53682] }\n`);
    return (async () => {
      const token = await signIn(ALICE);
      const check = () => spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'check-idp', '--config', config, '--token-file', '-'], { input: token, encoding: 'utf8', timeout: 30_000 });
      write('userinfo');
      const good = check();
      expect(good.stdout).toMatch(/reached/);
      expect(good.stdout).toMatch(/login +alice\n/);
      expect(good.stdout).toMatch(/groups +engineering\n/);
      expect(good.status).toBe(0);
      write('access_token');
      const bare = check();
      expect(bare.stdout).toMatch(/no "preferred_username" claim: \{user\} will be the sub; setting identity\.claims\.login/);
      expect(bare.stdout).toMatch(/name +\(none; setting identity\.claims\.name\)/);
      expect(bare.status).toBe(0); // groups are there (the "a,b" string)
      // Groups from the ID token: check-idp wants it beside the access token, as the app sends both.
      write('id_token');
      const both = await idp.signIn({ ...ALICE, ...CLIENT, scope: SCOPE, resource: RESOURCE });
      const withoutIdToken = check();
      expect(withoutIdToken.stderr).toMatch(/give the ID token .*--id-token-file/);
      expect(withoutIdToken.status).toBe(1);
      const idTokenFile = join(dir, 'id-token');
      writeFileSync(idTokenFile, both.id_token!, { mode: 0o600 });
      const fromIdToken = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'check-idp', '--config', config, '--token-file', '-', '--id-token-file', idTokenFile], { input: both.access_token, encoding: 'utf8', timeout: 30_000 });
      expect(fromIdToken.stdout).toMatch(/token accepted \(claims from id_token\)/);
      expect(fromIdToken.stdout).toMatch(/groups +engineering\n/);
      expect(fromIdToken.status).toBe(0);
      // serve --token-file: a mapping that gives nobody groups is a boot error, not an empty catalog for all.
      writeFileSync(config, `issuer: ${idp.issuer}\naudience: ${RESOURCE}\ncredentialKey: { file: credential.key }\nidentity: { claimsFrom: userinfo, claims: { groups: team } }\ndesktopClient: { clientId: ${CLIENT.clientId}, authorizationParams: { resource: '${RESOURCE}' } }\n`);
      const boot = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'serve', '--config', config, '--port', '0', '--database', join(dir, 'boot.sqlite'), '--token-file', '-'], { input: token, encoding: 'utf8', timeout: 30_000 });
      expect(boot.status).toBe(2);
      expect(boot.stderr).toMatch(/the identity settings give no groups for the token in -/);
    })();
  }, 60_000);
});
