// Smoke test of test-support/glewlwyd.ts against a real glewlwyd 2.7.5. It also prints what a
// relying party sees from this IdP (discovery, token shapes, refresh, revocation, redirect URI
// and resource handling), so a change in glewlwyd's behaviour shows up in the output first.
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, glewlwydAvailable, startGlewlwyd, type Glewlwyd, type GlewlwydTokens } from './glewlwyd';

const unavailable = glewlwydAvailable();
if (unavailable) console.log(`[glewlwyd.test] skipped: ${unavailable}`);

const PUBLIC_CLIENT = { clientId: 'stint-cli', redirectUri: 'http://127.0.0.1:53682/callback' };
// Only a confidential client can authenticate at the revocation endpoint (see below).
const CONFIDENTIAL_CLIENT = { clientId: 'stint-server', secret: 'server-secret', redirectUri: 'http://127.0.0.1:53682/server-callback' };
const RESOURCE = 'https://stint.example.test/api';
const ACCESS_TOKEN_SECONDS = 600;
const ALICE = { username: 'alice', password: 'alice-password' };
const BOB = { username: 'bob', password: 'bob-password' };

interface Jwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

function decodeJwt(token: string): Jwt {
  const [header = '', payload = ''] = token.split('.');
  const part = (text: string) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: part(header), payload: part(payload) };
}

/** Prints a labelled value as JSON: JWTs decoded with signatures elided, refresh tokens shortened. */
function show(label: string, value: unknown): void {
  const readable = JSON.stringify(
    value,
    (key, field: unknown) => {
      if (typeof field !== 'string') return field;
      if ((key === 'access_token' || key === 'id_token') && field.split('.').length === 3) return { ...decodeJwt(field), signature: '<elided>' };
      if (key === 'refresh_token') return `<opaque, ${field.length} chars>`;
      return field;
    },
    2,
  );
  console.log(`[glewlwyd] ${label}:\n${readable}`);
}

async function form(url: string, fields: Record<string, string>, authorization?: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: authorization ? { authorization } : {},
    body: new URLSearchParams(fields),
  });
  return { status: response.status, body: await response.text() };
}

describe.skipIf(unavailable !== null)('a real glewlwyd 2.7.5 (test-support/glewlwyd.ts)', () => {
  let idp: Glewlwyd;
  let discovery: Record<string, any>;
  let alice: GlewlwydTokens;

  beforeAll(async () => {
    const started = performance.now();
    idp = await startGlewlwyd({
      users: [
        { ...ALICE, name: 'Alice Liddell', email: 'alice@example.test', groups: ['engineering', 'sre-leads'] },
        { ...BOB, name: 'Bob Builder', email: 'bob@example.test', groups: ['engineering'] },
      ],
      clients: [
        { clientId: PUBLIC_CLIENT.clientId, redirectUris: [PUBLIC_CLIENT.redirectUri], resources: [RESOURCE] },
        { clientId: CONFIDENTIAL_CLIENT.clientId, redirectUris: [CONFIDENTIAL_CLIENT.redirectUri], secret: CONFIDENTIAL_CLIENT.secret },
      ],
      accessTokenSeconds: ACCESS_TOKEN_SECONDS,
    });
    const signingIn = performance.now();
    alice = await idp.signIn({ ...ALICE, ...PUBLIC_CLIENT, scope: 'openid profile email groups' });
    console.log(`[glewlwyd] start+configure ${Math.round(signingIn - started)} ms, signIn ${Math.round(performance.now() - signingIn)} ms`);
    discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, any>;
  });

  afterAll(async () => {
    await idp?.stop();
  });

  it('publishes its endpoints in the discovery document', () => {
    const endpoints = Object.fromEntries(
      ['issuer', 'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'revocation_endpoint', 'introspection_endpoint', 'end_session_endpoint', 'token_endpoint_auth_methods_supported', 'revocation_endpoint_auth_methods_supported', 'code_challenge_methods_supported', 'scopes_supported', 'claims_supported'].map((key) => [key, discovery[key]]),
    );
    show('discovery (excerpt)', endpoints);
    expect(idp.issuer).toBe(`${idp.baseUrl}/api/oidc`);
    expect(discovery.issuer).toBe(idp.issuer);
    for (const key of ['userinfo_endpoint', 'revocation_endpoint', 'introspection_endpoint', 'end_session_endpoint']) {
      expect(discovery[key]).toMatch(new RegExp(`^${idp.issuer}/`));
    }
    // Public clients (no secret) do work, yet `none` is not advertised.
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
  });

  it('signs alice in: an RS256 access token whose groups are one comma-joined string and whose aud is the scope', async () => {
    show('alice, token response', alice);
    const { header, payload } = decodeJwt(alice.access_token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'RS256' });
    expect(payload).toMatchObject({
      iss: idp.issuer,
      aud: 'openid profile email groups',
      client_id: PUBLIC_CLIENT.clientId,
      scope: 'openid profile email groups',
      groups: 'engineering,sre-leads',
      type: 'access_token',
    });
    expect(alice).toMatchObject({ token_type: 'bearer', expires_in: ACCESS_TOKEN_SECONDS });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(ACCESS_TOKEN_SECONDS);

    // The signature verifies with the key served at jwks_uri.
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: (JsonWebKey & { kid?: string })[] };
    const key = jwks.keys.find((candidate) => candidate.kid === header.kid);
    expect(key).toBeDefined();
    const [head = '', body = '', signature = ''] = alice.access_token.split('.');
    expect(verify('RSA-SHA256', Buffer.from(`${head}.${body}`), createPublicKey({ key: key!, format: 'jwk' }), Buffer.from(signature, 'base64url'))).toBe(true);
  });

  it('puts groups as an array in the ID token and userinfo, and auth_time is 0', async () => {
    const idToken = decodeJwt(alice.id_token!).payload;
    expect(idToken).toMatchObject({
      iss: idp.issuer,
      aud: PUBLIC_CLIENT.clientId,
      azp: PUBLIC_CLIENT.clientId,
      name: 'Alice Liddell',
      email: 'alice@example.test',
      groups: ['engineering', 'sre-leads'],
      amr: ['password'],
      // glewlwyd 2.7.5 puts 0 here (1970), not the login time: max_age checks against it fail.
      auth_time: 0,
    });

    const response = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${alice.access_token}` } });
    const userinfo = (await response.json()) as Record<string, unknown>;
    show('alice, userinfo', userinfo);
    expect(response.status).toBe(200);
    expect(userinfo).toEqual({ sub: idToken.sub, name: 'Alice Liddell', email: 'alice@example.test', preferred_username: 'alice', groups: ['engineering', 'sre-leads'] });
  });

  it('sends the groups claim in every access token, but in the ID token only for scope groups', async () => {
    const bob = await idp.signIn({ ...BOB, ...PUBLIC_CLIENT, scope: 'openid profile email' });
    show('bob without scope groups, token response', bob);
    expect(decodeJwt(bob.access_token).payload.groups).toBe('engineering');
    expect(decodeJwt(bob.id_token!).payload).not.toHaveProperty('groups');

    const bobWithGroups = await idp.signIn({ ...BOB, ...PUBLIC_CLIENT, scope: 'openid groups' });
    expect(decodeJwt(bobWithGroups.id_token!).payload.groups).toEqual(['engineering']);
  });

  it('refreshes without an ID token and without rotating the refresh token', async () => {
    const refreshed = await form(discovery.token_endpoint, { grant_type: 'refresh_token', refresh_token: alice.refresh_token!, client_id: PUBLIC_CLIENT.clientId });
    const tokens = JSON.parse(refreshed.body) as GlewlwydTokens;
    show(`alice, refresh_token grant (HTTP ${refreshed.status})`, tokens);
    expect(refreshed.status).toBe(200);
    expect(tokens).not.toHaveProperty('id_token');
    expect(tokens).not.toHaveProperty('refresh_token');
    expect(decodeJwt(tokens.access_token).payload.groups).toBe('engineering,sre-leads');
  });

  it('revokes a refresh token only for its own client, authenticated with a secret', async () => {
    const endpoint: string = discovery.revocation_endpoint;
    const token = { token: alice.refresh_token!, token_type_hint: 'refresh_token' };
    const refreshAlice = () => form(discovery.token_endpoint, { grant_type: 'refresh_token', refresh_token: alice.refresh_token!, client_id: PUBLIC_CLIENT.clientId });

    const anonymous = await form(endpoint, token);
    const publicClient = await form(endpoint, { ...token, client_id: PUBLIC_CLIENT.clientId });
    // Another client's credentials: 200 as RFC 7009 allows for a token it cannot see, and nothing is revoked.
    const otherClient = await form(endpoint, token, basicAuth(CONFIDENTIAL_CLIENT.clientId, CONFIDENTIAL_CLIENT.secret));
    const afterwards = await refreshAlice();
    show('revoking the public client\'s refresh token', {
      withoutClientAuthentication: anonymous,
      withPublicClientIdOnly: publicClient,
      withAnotherClientsSecret: otherClient,
      refreshAfterwards: afterwards.status,
    });
    expect(anonymous.status).toBe(401);
    expect(publicClient.status).toBe(401);
    expect(otherClient.status).toBe(200);
    expect(afterwards.status).toBe(200);

    const server = await idp.signIn({ ...ALICE, ...CONFIDENTIAL_CLIENT, clientSecret: CONFIDENTIAL_CLIENT.secret, scope: 'openid groups' });
    const auth = basicAuth(CONFIDENTIAL_CLIENT.clientId, CONFIDENTIAL_CLIENT.secret);
    const introspected = await form(discovery.introspection_endpoint, { token: server.access_token }, auth);
    const revoked = await form(endpoint, { token: server.refresh_token!, token_type_hint: 'refresh_token' }, auth);
    const refreshRevoked = await form(discovery.token_endpoint, { grant_type: 'refresh_token', refresh_token: server.refresh_token! }, auth);
    show('the confidential client revoking its own refresh token', {
      introspectionOfItsAccessToken: JSON.parse(introspected.body),
      revocation: revoked,
      refreshAfterwards: refreshRevoked,
    });
    expect(JSON.parse(introspected.body)).toMatchObject({ active: true, client_id: CONFIDENTIAL_CLIENT.clientId, username: 'alice' });
    expect(revoked.status).toBe(200);
    expect(refreshRevoked.status).toBe(400);
  });

  it('refuses a redirect URI on another port, without redirecting', async () => {
    const otherPort = 'http://127.0.0.1:53683/callback';
    const url = new URL(discovery.authorization_endpoint);
    url.search = new URLSearchParams({ response_type: 'code', client_id: PUBLIC_CLIENT.clientId, redirect_uri: otherPort, scope: 'openid', nonce: 'n', state: 's' }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    show('authorization request with redirect_uri on port 53683', { status: response.status, location: response.headers.get('location'), body: await response.text() });
    expect(response.status).toBe(403);
    await expect(idp.signIn({ ...ALICE, clientId: PUBLIC_CLIENT.clientId, redirectUri: otherPort, scope: 'openid' })).rejects.toThrow(/answered 403/);
  });

  it('sets aud to the RFC 8707 resource when the client sends one it may use', async () => {
    const withResource = await idp.signIn({ ...ALICE, ...PUBLIC_CLIENT, scope: 'openid groups', resource: RESOURCE });
    show('alice with resource, access token', { access_token: withResource.access_token });
    expect(decodeJwt(withResource.access_token).payload.aud).toBe(RESOURCE);
    await expect(idp.signIn({ ...ALICE, ...PUBLIC_CLIENT, scope: 'openid', resource: 'https://elsewhere.example.test/' })).rejects.toThrow(/invalid_target/);
  });

  it('refuses a wrong password at its login API', async () => {
    await expect(idp.signIn({ ...ALICE, password: 'wrong', ...PUBLIC_CLIENT, scope: 'openid' })).rejects.toThrow(/POST \/api\/auth\/ answered 401/);
  });
});
