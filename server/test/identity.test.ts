import { afterEach, describe, expect, it } from 'vitest';
import { forgeToken, startHarness, type Harness } from './harness';

// What a company's identity provider does that the dev IdP's defaults do not: opaque access
// tokens, groups only in userinfo, ID tokens that carry the API's audience, a clock that is
// off, an outage. (glewlwyd, a second IdP nobody here wrote, is in idp-glewlwyd.test.ts.)

let open: Harness[] = [];
afterEach(async () => {
  for (const h of open) await h.close();
  open = [];
});
const start = async (options: Omit<Parameters<typeof startHarness>[0], 'engine'> = {}) => {
  const h = await startHarness({ engine: 'sqlite', ...options });
  open.push(h);
  return h;
};
const me = async (h: Harness, token: string) => {
  const response = await fetch(`${h.server.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('an IdP with opaque access tokens and groups only in userinfo', () => {
  const introspection = { introspectionClientId: 'stint-api-introspect', introspectionSecret: 'introspect-secret-for-tests' };
  process.env.STINT_TEST_INTROSPECTION_SECRET = introspection.introspectionSecret;

  it('checks the token by introspection, reads the person from userinfo, and the whole journey works', async () => {
    const h = await start({
      idp: { opaqueAccessTokens: introspection },
      config: (c) => ({
        ...c,
        identity: { ...c.identity, claimsFrom: 'userinfo', introspection: { clientId: introspection.introspectionClientId, clientSecret: { env: 'STINT_TEST_INTROSPECTION_SECRET' } } },
      }),
    });
    const token = await h.token('alice');
    expect(token.split('.')).toHaveLength(1); // opaque: not a JWT
    const who = await h.api('alice', 'GET', '/v1/me');
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ sub: 'alice', login: 'alice', name: 'Alice Adams', email: 'alice@stint.example', groups: ['engineering'] });
    const systems = await h.api('alice', 'GET', '/v1/systems');
    expect(systems.body.systems.map((s: { id: string }) => s.id)).toContain('staging-db');
    const created = await h.api('alice', 'POST', '/v1/requests', { systemId: 'staging-db', durationSeconds: 600, reason: 'deploy' });
    expect(created.status).toBe(201);
    const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(reviewed.body.request.state).toBe('active');
    expect((await h.api('alice', 'GET', `/v1/grants/${reviewed.body.grant.id}/credential`)).status).toBe(200);
    // Ready, and says where groups came from.
    const ready = await h.api(null, 'GET', '/readyz');
    expect(ready.body).toMatchObject({ status: 'ready', checks: { identityProvider: true, identityMapping: true } });
  });

  it('refuses an opaque token when no introspection is set, naming the setting for the admin', async () => {
    const h = await start({ idp: { opaqueAccessTokens: introspection } });
    const who = await h.api('alice', 'GET', '/v1/me');
    expect(who.status).toBe(401);
    expect(who.body.message).toMatch(/not a JWT.*identity\.introspection/);
  });

  it('says the introspection client is refused when its secret is wrong (the admin must fix it, not the user)', async () => {
    process.env.STINT_TEST_WRONG_SECRET = 'not-the-secret';
    const h = await start({
      idp: { opaqueAccessTokens: introspection },
      config: (c) => ({ ...c, identity: { ...c.identity, claimsFrom: 'userinfo', introspection: { clientId: introspection.introspectionClientId, clientSecret: { env: 'STINT_TEST_WRONG_SECRET' } } } }),
    });
    const who = await h.api('alice', 'GET', '/v1/me');
    expect(who.status).toBe(503);
    expect(who.body.message).toMatch(/refused Stint's introspection client.*identity\.introspection\.clientId and clientSecret/);
  });

  it('with groups read from the token, which has none: the person has no groups, and /readyz says why', async () => {
    const h = await start({
      idp: { opaqueAccessTokens: introspection },
      config: (c) => ({ ...c, identity: { ...c.identity, claimsFrom: 'introspection', introspection: { clientId: introspection.introspectionClientId, clientSecret: { env: 'STINT_TEST_INTROSPECTION_SECRET' } } } }),
    });
    const who = await h.api('alice', 'GET', '/v1/me');
    expect(who.status).toBe(200);
    expect(who.body.groups).toEqual([]);
    const ready = await h.api(null, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.identityMapping).toBe(false);
    expect(ready.body.detail.identityMapping).toMatch(/sent no "groups" claim.*identity\.claimsFrom/);
  });
});

describe('only access tokens are accepted', () => {
  it('refuses an ID token that carries the API audience (nonce, at_hash, the desktop client as azp)', async () => {
    const h = await start();
    const idToken = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['engineering'], nonce: 'n-0S6_WzA2Mj', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', azp: 'stint-desktop' }, { aud: ['stint-desktop', 'stint-api'], typ: null, sub: 'alice' });
    const refused = await me(h, idToken);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/This is an ID token, not an access token/);
    // The same claims without the ID token's traits are an access token.
    const access = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['engineering'] }, { typ: null, sub: 'alice' });
    expect((await me(h, access)).status).toBe(200);
  });

  it('refuses a token meant for the desktop client alone, even without nonce', async () => {
    const h = await start();
    const token = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['engineering'], azp: 'stint-desktop' }, { aud: ['stint-api', 'stint-desktop'], typ: null, sub: 'alice' });
    expect((await me(h, token)).body.message).toMatch(/audience includes the desktop client/);
  });

  it('accepts ID-token traits when the admin says this IdP needs it (identity.acceptIdTokenTraits)', async () => {
    const h = await start({ config: (c) => ({ ...c, identity: { ...c.identity, acceptIdTokenTraits: true } }) });
    const token = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['engineering'], nonce: 'abc' }, { typ: null, sub: 'alice' });
    expect((await me(h, token)).status).toBe(200);
  });
});

describe('an IdP that puts groups in the ID token alone (identity.claimsFrom id_token)', () => {
  const withIdToken = (h: Harness, access: string, idToken?: string) =>
    fetch(`${h.server.url}/v1/me`, { headers: { authorization: `Bearer ${access}`, ...(idToken ? { 'x-stint-id-token': idToken } : {}) } }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  const setup = async () => {
    const h = await start({ config: (c) => ({ ...c, identity: { ...c.identity, claimsFrom: 'id_token' } }) });
    // The access token has no groups; the ID token (for the desktop client, with its nonce) has them.
    const access = await forgeToken(h.idpDataDir, h.idp.issuer, {}, { sub: 'alice' });
    const desktop = h.config.desktopClient.clientId;
    const idToken = (claims: Record<string, unknown>, options: Parameters<typeof forgeToken>[3] = {}) =>
      forgeToken(h.idpDataDir, h.idp.issuer, { nonce: 'n-1', azp: desktop, groups: ['engineering'], preferred_username: 'alice', name: 'Alice Adams', ...claims }, { aud: desktop, typ: null, sub: 'alice', ...options });
    return { h, access, idToken };
  };

  it('reads groups, login and name from the ID token sent beside the access token, and tells the app to send it', async () => {
    const { h, access, idToken } = await setup();
    const who = await withIdToken(h, access, await idToken({}));
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ sub: 'alice', login: 'alice', name: 'Alice Adams', groups: ['engineering'] });
    const config = await fetch(`${h.server.url}/v1/client-config`).then((r) => r.json());
    expect(config).toMatchObject({ sendIdToken: true });
  });

  it("refuses a request without it, someone else's, an expired one, or one not issued to the desktop client", async () => {
    const { h, access, idToken } = await setup();
    const none = await withIdToken(h, access);
    expect(none.status).toBe(401);
    expect(none.body.message).toMatch(/reads your groups from your ID token, and none came with the request/);
    const bobs = await withIdToken(h, access, await idToken({ groups: ['sre-leads'] }, { sub: 'bob' }));
    expect(bobs.body.message).toMatch(/about someone other than your access token/);
    const expired = await withIdToken(h, access, await idToken({}, { exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 7200, nbf: Math.floor(Date.now() / 1000) - 7200 }));
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/ID token has expired.*identity\.claimsFrom to userinfo/);
    const forApi = await withIdToken(h, access, await idToken({}, { aud: 'stint-api' }));
    expect(forApi.status).toBe(401);
    expect(forApi.body.message).toMatch(/ID token was refused/);
    // A first good pair is not a pass for the access token with another ID token after it.
    expect((await withIdToken(h, access, await idToken({}))).status).toBe(200);
    expect((await withIdToken(h, access, await idToken({}, { sub: 'bob' }))).status).toBe(401);
  });

  it('is not read at all by a server whose claims come from the access token', async () => {
    const h = await start();
    const access = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['engineering'] }, { sub: 'alice' });
    const idToken = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['stint-admins'], nonce: 'n' }, { aud: h.config.desktopClient.clientId, typ: null, sub: 'alice' });
    const who = await withIdToken(h, access, idToken);
    expect(who.body).toMatchObject({ groups: ['engineering'], isAdmin: false });
    expect(await fetch(`${h.server.url}/v1/client-config`).then((r) => r.json())).toMatchObject({ sendIdToken: false });
  });
});

describe('clocks', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('accepts an IdP 30 s ahead (default tolerance 60 s) and names the difference when it is 2 minutes ahead', async () => {
    const h = await start();
    const ahead30 = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['engineering'] }, { nbf: now() + 30, iat: now() + 30, sub: 'alice' });
    expect((await me(h, ahead30)).status).toBe(200);
    const ahead120 = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['engineering'] }, { nbf: now() + 120, iat: now() + 120, sub: 'alice' });
    const refused = await me(h, ahead120);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/clocks? .*differ by 1[12]\d s \(allowed: 60 s\).*identity\.clockTolerance/);
  });

  it('takes a wider tolerance from the settings', async () => {
    const h = await start({ config: (c) => ({ ...c, identity: { ...c.identity, clockTolerance: 300 } }) });
    const ahead120 = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['engineering'] }, { nbf: now() + 120, iat: now() + 120, sub: 'alice' });
    expect((await me(h, ahead120)).status).toBe(200);
  });
});

describe('an identity provider outage', () => {
  it('keeps accepting valid tokens on the last good keys (24 h by default), says so in /readyz, and stops after', async () => {
    const h = await start();
    const alice = await h.token('alice');
    const bob = await h.token('bob');
    expect((await me(h, alice)).status).toBe(200);
    await h.idp.close(); // the IdP is down from here on
    h.clock.advance(11 * 60_000); // past the keys' refresh: the refetch fails
    expect((await me(h, bob)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50)); // the background refetch's failure is noted
    const ready = await h.api(null, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.detail.identityProvider).toMatch(/unreachable for .* using its signing keys from 11 min ago, for 2[34] h more/);
    h.clock.advance(24 * 3600_000); // past identity.keysMaxStale
    const late = await me(h, bob);
    expect(late.status).toBe(503);
    expect(late.body.message).toMatch(/cannot reach the identity provider/);
    const unready = await h.api(null, 'GET', '/readyz');
    expect(unready.status).toBe(503);
    expect(unready.body.checks.identityProvider).toBe(false);
  });
});

describe('claims named the way other IdPs name them', () => {
  it('reads groups from a comma-separated string claim with a colon in its name (identity.claims.groups)', async () => {
    const h = await start({ config: (c) => ({ ...c, identity: { ...c.identity, claims: { ...c.identity.claims, groups: 'cognito:groups', login: 'upn' } } }) });
    const token = await forgeToken(h.idpDataDir, h.idp.issuer, { 'cognito:groups': 'engineering, sre-leads', upn: 'alice.adams', name: 'Alice Adams' }, { sub: '5f2b-opaque-sub' });
    const who = await me(h, token);
    expect(who.body).toMatchObject({ sub: '5f2b-opaque-sub', login: 'alice.adams', name: 'Alice Adams', groups: ['engineering', 'sre-leads'] });
  });

  it("refuses, naming the settings, when Entra leaves groups out (overage): an empty catalog would be a lie", async () => {
    const h = await start();
    const token = await forgeToken(h.idpDataDir, h.idp.issuer, { _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/x/getMemberObjects' } } }, { sub: 'alice' });
    const who = await me(h, token);
    expect(who.status).toBe(401);
    expect(who.body.message).toMatch(/left the "groups" claim out.*identity\.claims\.groups/);
  });
});
