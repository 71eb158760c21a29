import { spawnSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idpLoginOpener, launchChromium } from '../../test-support/browser';
import { startDevServer, type DevServer } from '../../test-support/dev-server';
import { keychainLookup, makeCore } from './stack';

/**
 * The session's life against the real dev IdP and the real keychain: restored at start-up from
 * the keychain alone, a refused refresh becomes "sign-in needed", sign-out ends the IdP
 * session, and a forged redirect to the loopback listener stores nothing.
 */
describe('core: the session', () => {
  let dev: DevServer;
  let browser: Browser;

  beforeAll(async () => {
    [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
  });

  it('is restored at start-up from the keychain alone, with the refresh token rotated', async () => {
    const first = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'alice' });
    await first.core.start();
    await first.core.signIn();
    const saved = keychainLookup(first.service, 'session:refresh-token');
    expect(saved).toBeTruthy();
    await first.core.stop();

    const again = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'alice', dir: first.dir, service: first.service });
    await again.core.start();
    try {
      expect(again.core.getState().auth).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } });
      const rotated = keychainLookup(again.service, 'session:refresh-token');
      expect(rotated).toBeTruthy();
      expect(rotated).not.toBe(saved);
    } finally {
      await again.core.stop();
    }
  });

  it('says "sign-in needed" when the IdP refuses the saved refresh token, instead of failing every call', async () => {
    const first = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'alice' });
    await first.core.start();
    await first.core.signIn();
    await first.core.stop();
    // The IdP no longer knows this token (revoked, or its grant expired).
    const store = spawnSync('secret-tool', ['store', '--label', 'Stint test', 'service', first.service, 'username', 'session:refresh-token'], { input: 'revoked-or-unknown-token', encoding: 'utf8' });
    expect(store.status).toBe(0);

    const again = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'alice', dir: first.dir, service: first.service });
    await again.core.start();
    try {
      expect(again.core.getState().auth).toMatchObject({ status: 'sign-in-needed', message: 'Your session ended; sign in again.' });
      await expect(again.core.request({ systemId: 'demo-sandbox', durationSeconds: 60, reason: '' })).rejects.toThrow(/not signed in/i);
    } finally {
      await again.core.stop();
    }
  });

  it('ends the session at the IdP on sign-out (its end-session endpoint, with the ID token as hint, through a loopback hand-off)', async () => {
    const opened: string[] = [];
    const login = idpLoginOpener(browser, 'alice');
    const alice = await makeCore({
      serverUrl: dev.serverUrl,
      browser,
      user: 'alice',
      opener: {
        async open(url) {
          opened.push(url);
          if (opened.length === 1) await login.open(url);
        },
      },
    });
    await alice.core.start();
    await alice.core.signIn();
    await alice.core.signOut();
    await alice.core.stop();
    const discovery = (await (await fetch(`${dev.issuer}/.well-known/openid-configuration`)).json()) as { end_session_endpoint: string };
    expect(opened).toHaveLength(2);
    // The browser is handed a one-time loopback address, never the ID token itself...
    expect(opened[1]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sign-out\/[A-Za-z0-9_-]{22}$/);
    // ...which sends it on to the IdP's end-session endpoint with the token as hint.
    expect(alice.core.signOutAddress).toBe(opened[1]); // what the Electron shell lets through
    const handOff = await fetch(opened[1]!, { redirect: 'manual' });
    expect(handOff.status).toBe(303);
    await new Promise((r) => setTimeout(r, 50));
    expect(alice.core.signOutAddress).toBeNull(); // served once: nothing to let through any more
    const endSession = new URL(handOff.headers.get('location')!);
    expect(`${endSession.origin}${endSession.pathname}`).toBe(discovery.end_session_endpoint);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(keychainLookup(alice.service, 'session:refresh-token')).toBeNull();
  });

  it('stores nothing when the redirect to its loopback listener is forged (wrong state), and stops listening', async () => {
    let redirect = '';
    const alice = await makeCore({
      serverUrl: dev.serverUrl,
      browser,
      user: 'alice',
      opener: {
        // An attacker's page, not the IdP, sends the browser to the loopback address.
        async open(url) {
          redirect = new URL(url).searchParams.get('redirect_uri')!;
          void fetch(`${redirect}?code=forged-code&state=not-the-state`).catch(() => undefined);
        },
      },
    });
    await alice.core.start();
    try {
      await expect(alice.core.signIn()).rejects.toMatchObject({ code: 'state_mismatch', message: expect.stringMatching(/did not belong to the sign-in Stint started/) });
      expect(alice.core.getState().auth.status).toBe('signed-out');
      expect(keychainLookup(alice.service, 'session:refresh-token')).toBeNull();
      await expect(fetch(`${redirect}?code=again&state=x`)).rejects.toThrow();
    } finally {
      await alice.core.stop();
    }
  });
});
