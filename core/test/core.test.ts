import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../test-support/browser';
import { startDevServer, type DevServer } from '../../test-support/dev-server';
import { keychainLookup, makeCore, until, type TestCore } from './stack';

/**
 * The client engine against real parts: the dev server and its IdP (a child process), the real
 * keychain (gnome-keyring on a private D-Bus), and Chromium playing the system browser.
 */
describe('core: sign-in, live approval, keychain vault, wipe at the deadline', () => {
  let dev: DevServer;
  let browser: Browser;
  let alice: TestCore;
  let bob: TestCore;

  beforeAll(async () => {
    [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
    alice = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'alice' });
    bob = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'bob' });
    await Promise.all([alice.core.start(), bob.core.start()]);
  }, 60_000);
  afterAll(async () => {
    await alice?.core.stop();
    await bob?.core.stop();
    await browser?.close();
    await dev?.stop();
  });

  it('signs in through the IdP page; the refresh token is in the keychain only', async () => {
    await alice.core.signIn();
    await bob.core.signIn();
    expect(alice.core.getState().auth).toMatchObject({ status: 'signed-in', user: { sub: 'alice' } });
    const refresh = keychainLookup(alice.service, 'session:refresh-token');
    expect(refresh).toBeTruthy();
    expect(readFileSync(join(alice.dir, 'data', 'settings.json'), 'utf8')).not.toContain(refresh!.trim());
    await until(() => alice.core.getState().connection === 'online' && bob.core.getState().connection === 'online');
  });

  it('gets an approval by SSE, stores the credential in the keychain, and wipes it at the deadline', async () => {
    const request = await alice.core.request({ systemId: 'staging-db', durationSeconds: 4, reason: 'hotfix' });
    expect(request.state).toBe('pending');
    await bob.waitForNotice('review-requested', (n) => n.request.id === request.id);
    const revisionBefore = alice.core.getState().revision;

    const approvedAt = performance.now();
    await bob.core.review({ requestId: request.id, decision: 'approve' });
    const grant = await until(() => alice.core.getState().grants.find((g) => g.requestId === request.id), 3000, 1);
    const latency = performance.now() - approvedAt;
    console.log(`approval to keychain: ${latency.toFixed(1)} ms`);
    expect(latency).toBeLessThan(1000); // by SSE, not at a poll

    const stored = keychainLookup(alice.service, `grant:${grant.grantId}`);
    expect(stored).toContain('STAGING_DB_TOKEN');
    const { grants } = await alice.core.env(['staging-db']);
    expect(stored).toContain(grants[0]!.env.STAGING_DB_TOKEN);
    expect(readFileSync(join(alice.dir, 'data', 'settings.json'), 'utf8')).not.toContain(grants[0]!.env.STAGING_DB_TOKEN!);
    expect(alice.core.getState().revision).toBeGreaterThan(revisionBefore);
    expect(readFileSync(join(alice.dir, 'run', 'revision'), 'utf8').trim()).toBe(String(alice.core.getState().revision));
    expect(readFileSync(join(alice.dir, 'run', 'grants'), 'utf8')).toMatch(/^staging-db \d+\n$/);

    const receipt = await alice.waitForNotice('grant-wiped', (n) => n.grantId === grant.grantId, 8000);
    const lateness = Date.now() - Date.parse(grant.expiresAt);
    console.log(`wipe lateness after the deadline: ${lateness} ms`);
    expect(lateness).toBeLessThan(1000);
    expect(receipt).toMatchObject({ reason: 'expired', systemId: 'staging-db', wiped: expect.arrayContaining([expect.stringMatching(/keychain/), expect.stringMatching(/STAGING_DB_TOKEN/)]) });
    expect(keychainLookup(alice.service, `grant:${grant.grantId}`)).toBeNull();
    expect(alice.core.getState().grants).toEqual([]);
    expect((await alice.core.env([])).grants).toEqual([]);
    // The app's own clock and the server's "ended" event both reach this grant: one receipt.
    // Wait until the server's sweeper has really ended it (so its event is on the way), then
    // give the event stream the time the release test gives it.
    for (const deadline = Date.now() + 8000; ; await new Promise((r) => setTimeout(r, 50))) {
      const onServer = await dev.api('alice', 'GET', `/v1/requests/${request.id}`);
      if (onServer.body.grant?.state === 'ended') break;
      if (Date.now() > deadline) throw new Error(`the server did not end grant ${grant.grantId} within 8 s of its deadline`);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(alice.notices.filter((n) => n.kind === 'grant-wiped' && n.grantId === grant.grantId)).toHaveLength(1);
  });

  it('release ends the grant at once, on the server and in the keychain', async () => {
    const request = await alice.core.request({ systemId: 'demo-sandbox', durationSeconds: 600, reason: '' });
    const grant = await until(() => alice.core.getState().grants.find((g) => g.requestId === request.id));
    await alice.core.release(grant.grantId);
    expect(keychainLookup(alice.service, `grant:${grant.grantId}`)).toBeNull();
    expect((await alice.waitForNotice('grant-wiped', (n) => n.grantId === grant.grantId)).reason).toBe('released');
    await new Promise((r) => setTimeout(r, 500)); // the server's "ended" event arrives too
    expect(alice.notices.filter((n) => n.kind === 'grant-wiped' && n.grantId === grant.grantId)).toHaveLength(1);
    const server = await dev.api('alice', 'GET', `/v1/requests/${request.id}`);
    expect(server.body.grant.endReason).toBe('released');
  });

  it('an admin revoke reaches the app by SSE and wipes the credential', async () => {
    const request = await alice.core.request({ systemId: 'demo-sandbox', durationSeconds: 600, reason: '' });
    const grant = await until(() => alice.core.getState().grants.find((g) => g.requestId === request.id));
    await dev.api('dana', 'POST', `/v1/grants/${grant.grantId}/revoke`, { reason: 'incident' });
    expect((await alice.waitForNotice('grant-wiped', (n) => n.grantId === grant.grantId)).reason).toBe('revoked');
    expect(keychainLookup(alice.service, `grant:${grant.grantId}`)).toBeNull();
  });

  it('sign-out wipes every grant and the refresh token from the keychain', async () => {
    const request = await alice.core.request({ systemId: 'demo-sandbox', durationSeconds: 600, reason: '' });
    const grant = await until(() => alice.core.getState().grants.find((g) => g.requestId === request.id));
    await alice.core.signOut();
    expect(keychainLookup(alice.service, `grant:${grant.grantId}`)).toBeNull();
    expect(keychainLookup(alice.service, 'session:refresh-token')).toBeNull();
    expect(alice.core.getState().auth.status).toBe('signed-out');
    expect((await alice.waitForNotice('grant-wiped', (n) => n.grantId === grant.grantId)).reason).toBe('signed-out');
  });
});
