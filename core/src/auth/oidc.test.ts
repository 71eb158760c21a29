import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHostileIdp, type HostileIdp } from './hostile-idp.fixture';
import { OidcClient, SignInError, type BrowserOpener, type SignInErrorCode, type Tokens } from './oidc';
import { portRefuses } from './port-probe.fixture';
import { openSignOutPage } from './sign-out-page';

/**
 * The part of server/src/dev/idp.ts used here. Its dev IdP is the real OpenID Provider the app
 * signs in to in development, so the tests use it rather than a fake. It is loaded at run time
 * instead of imported: core's TypeScript project does not include server/ (STYLE.md layers), and
 * only this test file ever loads it.
 */
interface DevIdp {
  issuer: string;
  clientId: string;
  close(): Promise<void>;
}
type StartDevIdp = (options: { port: number; dataDir: string; audience: string; groupsClaim: string }) => Promise<DevIdp>;
const DEV_IDP_MODULE = new URL('../../../server/src/dev/idp.ts', import.meta.url).href;

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let dataDir: string;
let devIdp: DevIdp;
let hostile: HostileIdp;
let browser: Browser | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stint-oidc-'));
  const { startDevIdp } = (await import(/* @vite-ignore */ DEV_IDP_MODULE)) as { startDevIdp: StartDevIdp };
  devIdp = await startDevIdp({ port: 0, dataDir, audience: 'stint-api', groupsClaim: 'groups' });
  hostile = await startHostileIdp();
});

afterAll(async () => {
  await browser?.close();
  await devIdp?.close();
  await hostile?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function launchBrowser(): Promise<Browser> {
  browser ??= await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  return browser;
}

function decodeJwt(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function redirectPort(authorizationUrl: string): number {
  const redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error(`no redirect_uri in ${authorizationUrl}`);
  return Number(new URL(redirectUri).port);
}

async function expectSignInError(work: Promise<unknown>, code: SignInErrorCode): Promise<SignInError> {
  const error = await work.then(
    (value) => {
      throw new Error(`expected SignInError(${code}), got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SignInError);
  expect((error as SignInError).code, (error as Error).message).toBe(code);
  return error as SignInError;
}

/**
 * The system browser, played by Chromium: opens the URL like shell.openExternal would (and
 * returns at once), signs in on the dev IdP's pages and lands on the loopback page.
 */
function chromiumOpener(login = { user: 'alice', password: 'alice-dev-password' }) {
  let authorizationUrl: string | undefined;
  let journey: Promise<{ text: string; callbackUrl: string }> | undefined;
  const opener: BrowserOpener = {
    async open(url) {
      authorizationUrl = url;
      journey = (async () => {
        const context = await (await launchBrowser()).newContext();
        try {
          // This machine has no internet: keep the page from waiting on anything off-machine
          // (oidc-provider's pages import a web font).
          await context.route((u) => u.hostname !== '127.0.0.1', (route) => route.abort());
          const page = await context.newPage();
          await page.goto(url);
          await page.fill('input[name=login]', login.user);
          await page.fill('input[name=password]', login.password);
          await page.click('button[type=submit]');
          await page.waitForSelector('input[name=prompt][value=consent]', { state: 'attached' });
          await page.click('button[type=submit]');
          await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
          return { text: (await page.textContent('body')) ?? '', callbackUrl: page.url() };
        } finally {
          await context.close();
        }
      })();
      // Observed by the test; this only keeps a failure from counting as unhandled first.
      journey.catch(() => {});
    },
  };
  return {
    opener,
    url: () => authorizationUrl,
    journey: () => {
      if (!journey) throw new Error('the browser was never opened');
      return journey;
    },
  };
}

/**
 * A browser without pages, for the hostile IdP (whose authorization endpoint redirects at once):
 * follows the one redirect to the loopback listener and keeps what that page said.
 */
function fetchOpener() {
  let authorizationUrl: string | undefined;
  let journey: Promise<{ status: number; html: string }> | undefined;
  const opener: BrowserOpener = {
    async open(url) {
      authorizationUrl = url;
      journey = (async () => {
        const authorize = await fetch(url, { redirect: 'manual' });
        const location = authorize.headers.get('location');
        if (authorize.status !== 302 || !location) throw new Error(`authorization endpoint answered ${authorize.status}`);
        const callback = await fetch(location);
        return { status: callback.status, html: await callback.text() };
      })();
      journey.catch(() => {});
    },
  };
  return {
    opener,
    url: () => authorizationUrl,
    journey: () => {
      if (!journey) throw new Error('the browser was never opened');
      return journey;
    },
  };
}

/** An "attacker" that skips the IdP and calls the loopback listener itself with its own query. */
function directCallbackOpener(query: string) {
  let authorizationUrl: string | undefined;
  let page: Promise<{ status: number; html: string }> | undefined;
  const opener: BrowserOpener = {
    async open(url) {
      authorizationUrl = url;
      const redirectUri = new URL(url).searchParams.get('redirect_uri');
      page = fetch(`${redirectUri}?${query}`).then(async (r) => ({ status: r.status, html: await r.text() }));
      page.catch(() => {});
    },
  };
  return { opener, url: () => authorizationUrl, page: () => page! };
}

async function signInWithChromium(client = new OidcClient({ issuer: devIdp.issuer, clientId: devIdp.clientId })) {
  const browserSide = chromiumOpener();
  const tokens = await client.signIn(browserSide.opener);
  const journey = await browserSide.journey();
  return { tokens, journey, port: redirectPort(browserSide.url()!) };
}

describe('OidcClient against the dev IdP, with Chromium as the system browser', () => {
  it('signs in: JWT access token for stint-api, verified claims, a refresh token, loopback closed', async () => {
    // Informational: the whole flow as a person would wait for it, browser start included.
    await browser?.close();
    browser = undefined;
    const started = performance.now();
    await launchBrowser();
    const launched = performance.now();
    const { tokens, journey, port } = await signInWithChromium();
    const done = performance.now();
    console.log(`[oidc] sign-in including Chromium launch: ${Math.round(done - started)} ms (launch ${Math.round(launched - started)} ms, sign-in ${Math.round(done - launched)} ms)`);

    expect(journey.text).toContain('You are signed in to Stint. You can close this tab and return to Stint.');
    expect(tokens.claims).toEqual({ sub: 'alice', name: 'Alice Adams', email: 'alice@stint.example' });
    const access = decodeJwt(tokens.accessToken);
    expect(access).toMatchObject({ aud: 'stint-api', sub: 'alice', iss: devIdp.issuer });
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(tokens.idToken).toEqual(expect.any(String));
    expect(decodeJwt(tokens.idToken!)).toMatchObject({ aud: devIdp.clientId, iss: devIdp.issuer, sub: 'alice' });
    // expires_in is 900 s for the dev IdP; counted from the request, so at most 900 s from now.
    const left = tokens.accessTokenExpiresAt - Date.now();
    expect(left).toBeGreaterThan(880_000);
    expect(left).toBeLessThanOrEqual(900_000);
    expect(await portRefuses(port)).toBe(true);
  });

  it('refreshes with rotation, and the spent refresh token is refused afterwards', async () => {
    const client = new OidcClient({ issuer: devIdp.issuer, clientId: devIdp.clientId });
    const { tokens } = await signInWithChromium(client);
    const refreshed = await client.refresh(tokens.refreshToken!);
    expect(refreshed.refreshToken).toEqual(expect.any(String));
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(decodeJwt(refreshed.accessToken)).toMatchObject({ aud: 'stint-api', sub: 'alice' });
    expect(refreshed.claims.sub).toBe('alice');

    // A fresh client (as after an app restart) holding the old token is refused too.
    for (const c of [client, new OidcClient({ issuer: devIdp.issuer, clientId: devIdp.clientId })]) {
      const error = await expectSignInError(c.refresh(tokens.refreshToken!), 'refresh_failed');
      expect(error.message).toMatch(/sign in again/i);
    }
  });

  it("gives the IdP's end-session URL with id_token_hint", async () => {
    const client = new OidcClient({ issuer: devIdp.issuer, clientId: devIdp.clientId });
    const { tokens } = await signInWithChromium(client);
    const url = new URL((await client.endSessionUrl(tokens.idToken))!);
    expect(`${url.origin}${url.pathname}`).toBe(`${devIdp.issuer}/session/end`);
    expect(url.searchParams.get('id_token_hint')).toBe(tokens.idToken);
    expect(url.searchParams.get('client_id')).toBe(devIdp.clientId);

    const withoutHint = new URL((await client.endSessionUrl(null))!);
    expect(withoutHint.searchParams.has('id_token_hint')).toBe(false);
  });

  it('hands sign-out to the browser through a one-time loopback address: no ID token on a command line', async () => {
    const client = new OidcClient({ issuer: devIdp.issuer, clientId: devIdp.clientId });
    const { tokens } = await signInWithChromium(client);
    const endSession = (await client.endSessionUrl(tokens.idToken))!;
    const signOut = await openSignOutPage(endSession);
    // What goes to the browser's command line: a loopback address with a random key, no token.
    expect(signOut.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sign-out\/[A-Za-z0-9_-]{22}$/);
    expect(signOut.url).not.toContain(tokens.idToken!);
    expect((await fetch(new URL('/sign-out/not-the-key', signOut.url), { redirect: 'manual' })).status).toBe(404);

    const context = await (await launchBrowser()).newContext();
    try {
      await context.route((u) => u.hostname !== '127.0.0.1', (route) => route.abort());
      const page = await context.newPage();
      const atIdp = page.waitForRequest((r) => r.url().startsWith(`${devIdp.issuer}/session/end?`));
      await page.goto(signOut.url);
      // The browser took the token to the IdP itself, and the IdP accepted it (a hint it cannot
      // verify gets an error page, not this one).
      expect((await atIdp).url()).toBe(endSession);
      await page.waitForSelector('text=You are signed out');
    } finally {
      await context.close();
    }
    expect(await signOut.served).toBe(true);
    // Answered once, then gone: the key in the address opens nothing any more.
    await expect(fetch(signOut.url, { redirect: 'manual' })).rejects.toThrow();
  });

  it('revokes a refresh token so it can no longer refresh, and never throws', async () => {
    const client = new OidcClient({ issuer: devIdp.issuer, clientId: devIdp.clientId });
    const { tokens } = await signInWithChromium(client);
    expect(await client.revokeRefreshToken(tokens.refreshToken!)).toEqual({ revoked: true });
    await expectSignInError(client.refresh(tokens.refreshToken!), 'refresh_failed');

    // Never throws, and says what became of the token instead of claiming it was revoked.
    expect(await new OidcClient({ issuer: 'http://127.0.0.1:9', clientId: 'x' }).revokeRefreshToken('anything')).toEqual({ revoked: false, reason: expect.stringMatching(/could not be reached/) });
    expect(await new OidcClient({ issuer: 'http://192.0.2.1', clientId: 'x' }).revokeRefreshToken('anything')).toMatchObject({ revoked: false });
  });

  it('refuses a second use of the loopback callback: nothing listens any more', async () => {
    const { journey, port } = await signInWithChromium();
    const again = await fetch(journey.callbackUrl).then(
      () => 'answered',
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(again).toBe('ECONNREFUSED');
    expect(await portRefuses(port)).toBe(true);
  });

  it('times out when the browser never comes back, and closes the port', async () => {
    const client = new OidcClient({ issuer: devIdp.issuer, clientId: devIdp.clientId }, { timeoutMs: 400 });
    let opened: string | undefined;
    const started = Date.now();
    const error = await expectSignInError(
      client.signIn({
        async open(url) {
          opened = url;
        },
      }),
      'timeout',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.message).toMatch(/sign in again/i);
    expect(opened).toBeDefined();
    expect(await portRefuses(redirectPort(opened!))).toBe(true);
  });

  it('is cancelled by its AbortSignal, and closes the port', async () => {
    const client = new OidcClient({ issuer: devIdp.issuer, clientId: devIdp.clientId });
    const controller = new AbortController();
    let opened: string | undefined;
    const signIn = client.signIn(
      {
        async open(url) {
          opened = url;
          setTimeout(() => controller.abort(), 50);
        },
      },
      { signal: controller.signal },
    );
    await expectSignInError(signIn, 'cancelled');
    expect(await portRefuses(redirectPort(opened!))).toBe(true);

    // Already cancelled: the browser is never opened.
    const open = vi.fn(async () => {});
    await expectSignInError(client.signIn({ open }, { signal: AbortSignal.abort() }), 'cancelled');
    expect(open).not.toHaveBeenCalled();
  });

  it('closes the port when the browser cannot be opened', async () => {
    const client = new OidcClient({ issuer: devIdp.issuer, clientId: devIdp.clientId });
    let opened: string | undefined;
    const error = await expectSignInError(
      client.signIn({
        async open(url) {
          opened = url;
          throw new Error('no default browser');
        },
      }),
      'cancelled',
    );
    expect(error.message).toContain('no default browser');
    expect(await portRefuses(redirectPort(opened!))).toBe(true);
  });

  it('reports an IdP that does not answer as discovery_failed, without opening the browser', async () => {
    const open = vi.fn(async () => {});
    const client = new OidcClient({ issuer: 'http://127.0.0.1:9', clientId: 'stint-desktop' });
    const error = await expectSignInError(client.signIn({ open }), 'discovery_failed');
    expect(error.message).toContain('http://127.0.0.1:9');
    expect(open).not.toHaveBeenCalled();
    await expectSignInError(client.refresh('rt'), 'discovery_failed');
  });
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

describe('issuer check', () => {
  it('refuses a remote http issuer before sending anything', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    try {
      for (const issuer of ['http://192.0.2.1', 'http://idp.example.com', 'http://127.0.0.1.nip.io:8080', 'http://[::2]:80', 'ftp://127.0.0.1']) {
        const client = new OidcClient({ issuer, clientId: 'stint-desktop' });
        const open = vi.fn(async () => {});
        const error = await expectSignInError(client.signIn({ open }), 'discovery_failed');
        expect(error.message).toMatch(/https/);
        expect(open).not.toHaveBeenCalled();
        await expectSignInError(client.refresh('rt'), 'discovery_failed');
        await expectSignInError(client.endSessionUrl(null), 'discovery_failed');
        await client.revokeRefreshToken('rt');
      }
      for (const issuer of ['not a url', 'https://user:pw@idp.example.com', 'https://idp.example.com/?tenant=x']) {
        await expectSignInError(new OidcClient({ issuer, clientId: 'stint-desktop' }).signIn({ open: async () => {} }), 'discovery_failed');
      }
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it('allows http only to this machine: 127.0.0.1, [::1] and localhost', async () => {
    // Reaching discovery (and failing there, nothing listens on port 9) shows the issuer passed.
    for (const issuer of ['http://127.0.0.1:9', 'http://[::1]:9', 'http://localhost:9']) {
      const error = await expectSignInError(new OidcClient({ issuer, clientId: 'x' }).signIn({ open: async () => {} }), 'discovery_failed');
      expect(error.message, issuer).toMatch(/could not read the sign-in settings/);
    }
  });
});
