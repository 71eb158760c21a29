// OidcClient against the dev IdP (server/src/dev/idp.ts), with Chromium as the system browser.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OidcClient } from './oidc';
import { decodeJwt, expectSignInError, journeyOpener, redirectPort } from './oidc.fixture';
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
let browser: Browser | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stint-oidc-'));
  const { startDevIdp } = (await import(/* @vite-ignore */ DEV_IDP_MODULE)) as { startDevIdp: StartDevIdp };
  devIdp = await startDevIdp({ port: 0, dataDir, audience: 'stint-api', groupsClaim: 'groups' });
});

afterAll(async () => {
  await browser?.close();
  await devIdp?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function launchBrowser(): Promise<Browser> {
  browser ??= await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  return browser;
}

/**
 * The system browser, played by Chromium: opens the URL like shell.openExternal would (and
 * returns at once), signs in on the dev IdP's pages and lands on the loopback page.
 */
function chromiumOpener(login = { user: 'alice', password: 'alice-dev-password' }) {
  return journeyOpener(async (url) => {
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
  });
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
