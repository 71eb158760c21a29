// OidcClient against a hostile IdP (hostile-idp.fixture.ts) that lies in one thing at a time.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHostileIdp, type HostileIdp } from './hostile-idp.fixture';
import { OidcClient, type SignInError, type SignInErrorCode, type Tokens } from './oidc';
import { directCallbackOpener, expectSignInError, fetchOpener, redirectPort } from './oidc.fixture';
import { portRefuses } from './port-probe.fixture';

let hostile: HostileIdp;

beforeAll(async () => {
  hostile = await startHostileIdp();
});

afterAll(async () => {
  await hostile?.close();
});

describe('OidcClient against a hostile IdP', () => {
  const hostileClient = (options?: { timeoutMs?: number }) => new OidcClient({ issuer: hostile.issuer, clientId: hostile.clientId }, options);

  /** Signs in with the hostile IdP behaving as told; returns the outcome, the page and the port. */
  async function attempt(behaviour: Parameters<HostileIdp['behave']>[0]) {
    hostile.behave(behaviour);
    const tokenRequestsBefore = hostile.tokenRequests.length;
    const browserSide = fetchOpener();
    const outcome = await hostileClient()
      .signIn(browserSide.opener)
      .then(
        (tokens: Tokens) => ({ tokens, error: undefined }),
        (error: unknown) => ({ tokens: undefined, error }),
      );
    const page = await browserSide.journey();
    return { ...outcome, page, port: redirectPort(browserSide.url()!), tokenRequests: hostile.tokenRequests.length - tokenRequestsBefore };
  }

  async function expectRefused(result: Awaited<ReturnType<typeof attempt>>, code: SignInErrorCode): Promise<SignInError> {
    expect(result.tokens).toBeUndefined();
    const error = await expectSignInError(Promise.reject(result.error), code);
    expect(result.page.status).toBe(400);
    expect(result.page.html).toContain('Stint could not sign you in');
    expect(result.page.html).not.toContain('You are signed in');
    expect(await portRefuses(result.port)).toBe(true);
    return error;
  }

  it('signs in when it behaves (so every refusal below is the client, not a broken fixture)', async () => {
    const first = await attempt({});
    expect(first.error).toBeUndefined();
    expect(first.tokens?.claims).toEqual({ sub: 'mallory', name: 'Mallory Hostile', email: 'mallory@hostile.example' });
    expect(first.tokens?.accessTokenExpiresAt).toBeGreaterThan(Date.now() + 100_000);
    expect(first.page.html).toContain('You are signed in to Stint.');
    expect(await portRefuses(first.port)).toBe(true);
    const second = await attempt({});
    expect(second.error).toBeUndefined();

    const [a, b] = hostile.authorizationRequests.slice(-2).map((r) => r.params);
    const [ta, tb] = hostile.tokenRequests.slice(-2);
    for (const [auth, token] of [
      [a, ta],
      [b, tb],
    ] as const) {
      expect(auth).toMatchObject({ response_type: 'code', client_id: 'stint-desktop', code_challenge_method: 'S256', scope: 'openid profile email offline_access' });
      expect(auth!.redirect_uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      // PKCE S256: the verifier sent to the token endpoint hashes to the challenge sent earlier.
      expect(createHash('sha256').update(token!.params.code_verifier!).digest('base64url')).toBe(auth!.code_challenge);
      // A public client: no secret in the body, no Basic authentication.
      expect(token!.params.client_secret).toBeUndefined();
      expect(token!.authorization).toBeUndefined();
      expect(token!.params.redirect_uri).toBe(auth!.redirect_uri);
    }
    // Fresh per sign-in.
    expect(a!.state).not.toBe(b!.state);
    expect(a!.nonce).not.toBe(b!.nonce);
    expect(a!.code_challenge).not.toBe(b!.code_challenge);
    expect(a!.redirect_uri).not.toBe(b!.redirect_uri);
    expect(a!.state!.length).toBeGreaterThanOrEqual(32);
    expect(a!.nonce!.length).toBeGreaterThanOrEqual(32);
  });

  it('(a) refuses a callback with the wrong state, without redeeming the code or echoing input', async () => {
    const tokenRequestsBefore = hostile.tokenRequests.length;
    const attacker = directCallbackOpener('code=x&state=wrong%3Cscript%3Ealert(1)%3C/script%3E');
    const error = await expectSignInError(hostileClient().signIn(attacker.opener), 'state_mismatch');
    expect(error.message).toMatch(/sign in again/i);
    const page = await attacker.page();
    expect(page.status).toBe(400);
    expect(page.html).not.toContain('<script>');
    expect(page.html).not.toContain('alert(1)');
    expect(hostile.tokenRequests.length).toBe(tokenRequestsBefore);
    expect(await portRefuses(redirectPort(attacker.url()!))).toBe(true);

    // The same through the IdP's own redirect: a response carrying another sign-in's state.
    const forged = await attempt({ authorization: { state: 'from-another-sign-in' } });
    await expectRefused(forged, 'state_mismatch');
    expect(forged.tokenRequests).toBe(0);
  });

  it('(c) refuses an ID token with the wrong nonce', async () => {
    await expectRefused(await attempt({ idToken: { nonce: 'replayed-nonce' } }), 'nonce_mismatch');
  });

  it('(d) refuses an ID token from another issuer', async () => {
    await expectRefused(await attempt({ idToken: { iss: 'https://idp.attacker.example' } }), 'issuer_mismatch');
  });

  it('(e) refuses an ID token for another audience', async () => {
    await expectRefused(await attempt({ idToken: { aud: 'some-other-app' } }), 'audience_mismatch');
  });

  it('refuses an ID token signed with a key the IdP does not publish', async () => {
    const error = await expectRefused(await attempt({ idToken: { signWithUnknownKey: true } }), 'token_exchange_failed');
    expect(error.message).toMatch(/sign in again/i);
  });

  it('refuses a token response without an ID token', async () => {
    await expectRefused(await attempt({ idToken: { omit: true } }), 'token_exchange_failed');
  });

  it('refuses an authorization response naming another issuer, or none when the IdP promises one (RFC 9207)', async () => {
    const wrong = await attempt({ authorization: { iss: 'https://idp.attacker.example' } });
    await expectRefused(wrong, 'issuer_mismatch');
    expect(wrong.tokenRequests).toBe(0);
    const missing = await attempt({ authorization: { iss: null } });
    await expectRefused(missing, 'issuer_mismatch');
    expect(missing.tokenRequests).toBe(0);
  });

  it("(f) reports error=access_denied as idp_error with the IdP's description, escaped on the page", async () => {
    const description = 'Alice is not in <b>stint-users</b> <script>alert(1)</script>';
    const result = await attempt({ authorization: { error: 'access_denied', errorDescription: `${description}\r\nInjected: line` } });
    const error = await expectRefused(result, 'idp_error');
    expect(error.message).toContain(description);
    expect(error.message).toContain('access_denied');
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(result.page.html).not.toContain('<script>');
    expect(result.page.html).not.toContain('<b>');
    expect(result.page.html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(result.tokenRequests).toBe(0);
  });

  it('refuses a discovery document that sends a loopback client elsewhere over http', async () => {
    hostile.behave({ discovery: { token_endpoint: 'http://192.0.2.1/token' } });
    const open = vi.fn(async () => {});
    const error = await expectSignInError(hostileClient().signIn({ open }), 'discovery_failed');
    expect(error.message).toContain('token_endpoint');
    expect(open).not.toHaveBeenCalled();
  });

  it('listens on the first free fixed port (IdPs that match redirect URIs exactly), and says so when all are taken', async () => {
    const { createServer } = await import('node:http');
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as { port: number }).port;
    const free = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    try {
      hostile.behave({});
      const browserSide = fetchOpener();
      const shown: string[] = [];
      await new OidcClient({ issuer: hostile.issuer, clientId: hostile.clientId, redirectPorts: [taken, free] }).signIn(browserSide.opener, { onUrl: (url) => shown.push(url) });
      await browserSide.journey();
      expect(hostile.authorizationRequests.at(-1)!.params.redirect_uri).toBe(`http://127.0.0.1:${free}/callback`);
      expect(shown).toHaveLength(1);
      expect(shown[0]).toBe(browserSide.url());
      const busy = new OidcClient({ issuer: hostile.issuer, clientId: hostile.clientId, redirectPorts: [taken] }).signIn(fetchOpener().opener);
      const error = await expectSignInError(busy, 'ports_busy');
      expect(error.message).toContain(`the sign-in ports ${taken} on 127.0.0.1 are all in use`);
    } finally {
      squatter.close();
    }
  });

  it('authenticates with the client secret when the IdP wants one (Basic), and never in the URL', async () => {
    hostile.behave({});
    const browserSide = fetchOpener();
    await new OidcClient({ issuer: hostile.issuer, clientId: hostile.clientId, clientSecret: 's3cret/with:odd+chars' }).signIn(browserSide.opener);
    await browserSide.journey();
    const token = hostile.tokenRequests.at(-1)!;
    expect(token.authorization).toMatch(/^Basic /);
    // RFC 6749 2.3.1: each part form-encoded, then joined with ":" and base64-encoded.
    const [id, secret] = Buffer.from(token.authorization!.slice(6), 'base64').toString('utf8').split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
    expect({ id, secret }).toEqual({ id: 'stint-desktop', secret: 's3cret/with:odd+chars' });
    expect(token.params.client_secret).toBeUndefined();
    expect(browserSide.url()).not.toContain('s3cret');
  });

  it('treats a refresh refused with a non-JSON 400 as the end of the session, not as an unreachable IdP', async () => {
    hostile.behave({ refresh: { status: 400, body: '<html>Bad Request</html>' } });
    const error = await expectSignInError(hostileClient().refresh('rt'), 'refresh_failed');
    expect(error.message).toMatch(/refused to refresh the session \(HTTP 400\)\. Sign in again/);
    hostile.behave({ refresh: { status: 503, body: 'down for maintenance' } });
    await expectSignInError(hostileClient().refresh('rt'), 'token_exchange_failed'); // this one is worth retrying
  });

  it('tells the person that only an administrator can fix an IdP that refuses the app itself', async () => {
    hostile.behave({ refresh: { status: 400, body: JSON.stringify({ error: 'unauthorized_client' }), contentType: 'application/json' } });
    const error = await expectSignInError(hostileClient().refresh('rt'), 'client_refused');
    expect(error.message).toMatch(/refused Stint's app itself \(unauthorized_client\), so signing in again will not help\. Ask your administrator/);
  });

  it('reports a revocation the IdP refused (glewlwyd: public clients may not revoke) instead of claiming it worked', async () => {
    hostile.behave({ revocation: { status: 401 } });
    expect(await hostileClient().revokeRefreshToken('rt')).toEqual({
      revoked: false,
      reason: expect.stringMatching(/refused to revoke it \(HTTP 401\): it accepts revocation only from clients with a secret/),
    });
    hostile.behave({ revocation: { status: 200 } });
    expect(await hostileClient().revokeRefreshToken('rt')).toEqual({ revoked: true });
  });

  it('has no end-session URL and no revocation when the IdP offers neither', async () => {
    hostile.behave({});
    const client = hostileClient();
    expect(await client.endSessionUrl('id-token')).toBeNull();
    const before = hostile.tokenRequests.length;
    expect(await client.revokeRefreshToken('rt')).toEqual({ revoked: false, reason: 'the identity provider offers no way to revoke it' });
    expect(hostile.tokenRequests.length).toBe(before);
  });
});
