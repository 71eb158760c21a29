import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../test-support/browser';
import { startDevServer, type DevServer } from '../../test-support/dev-server';
import { keychainLookup, makeCore, until, type TestCore } from './stack';

/**
 * Start when ready, in the app's engine: an approval that waits for its requester is listed
 * (not stored: there is no credential yet) and announced once; Start begins the countdown and
 * brings the credential; a named start time starts it by itself; one not started in its window
 * lapses with a notice; giving one up ends it at the server. The dev server with a catalog
 * whose start window is seconds long, so the lapse can be watched.
 */
describe('core: approvals that wait to be started', () => {
  let dev: DevServer;
  let browser: Browser;
  let alice: TestCore;
  let bob: TestCore;

  beforeAll(async () => {
    const catalog = join(mkdtempSync(join(tmpdir(), 'stint-start-')), 'catalog.yaml');
    writeFileSync(
      catalog,
      [
        'systems:',
        '  - id: brief-window',
        '    name: Brief window',
        '    risk: low',
        '    provider: { type: demo, settings: { envVar: BRIEF_TOKEN } }',
        '    durations: { presets: [30m], max: 1h }',
        '    requesters: [engineering]',
        '    approvers: [sre-leads]',
        '    approvalsRequired: 1',
        '    justification: optional',
        '    startWindow: 3s',
        '',
      ].join('\n'),
    );
    [dev, browser] = await Promise.all([startDevServer({ args: ['--catalog', catalog] }), launchChromium()]);
    alice = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'alice' });
    bob = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'bob' });
    await Promise.all([alice.core.start(), bob.core.start()]);
    await alice.core.signIn();
    await bob.core.signIn();
    await until(() => alice.core.getState().connection === 'online' && bob.core.getState().connection === 'online');
  }, 60_000);
  afterAll(async () => {
    await alice?.core.stop();
    await bob?.core.stop();
    await browser?.close();
    await dev?.stop();
  });

  async function approved(systemId: string, extra: { startAt?: string } = {}) {
    const request = await alice.core.request({ systemId, durationSeconds: 1800, reason: 'deploy', ...extra });
    await bob.waitForNotice('review-requested', (n) => n.request.id === request.id);
    await bob.core.review({ requestId: request.id, decision: 'approve' });
    const notice = await alice.waitForNotice('grant-waiting', (n) => n.grant.requestId === request.id);
    return { request, waiting: notice.grant };
  }

  it('waits without a credential, says so once, and Start brings the credential with the countdown from then', async () => {
    expect(alice.core.getState().systems.find((s) => s.id === 'ops-console')?.startWindowSeconds).toBe(8 * 3600);
    const { request, waiting } = await approved('ops-console');
    expect(waiting.startBy).not.toBeNull();
    expect(Date.parse(waiting.startBy!) - Date.now()).toBeGreaterThan(7.9 * 3600_000);
    expect(alice.core.getState().waiting.map((w) => w.grantId)).toEqual([waiting.grantId]);
    expect(alice.core.getState().grants).toEqual([]);
    expect(keychainLookup(alice.service, `grant:${waiting.grantId}`)).toBeNull();
    // The waiting notice says the approval; "approved, on its way to your keychain" would be untrue.
    await new Promise((r) => setTimeout(r, 300));
    expect(alice.notices.filter((n) => n.kind === 'request-approved' && n.request.id === request.id)).toEqual([]);

    const before = Date.now();
    const started = await alice.core.startGrant(waiting.grantId);
    expect(started.state).toBe('active');
    const grant = await until(() => alice.core.getState().grants.find((g) => g.grantId === waiting.grantId));
    expect(Date.parse(grant.startsAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)).toBe(1800_000);
    expect(keychainLookup(alice.service, `grant:${waiting.grantId}`)).toContain('OPS_CONSOLE_TOKEN');
    expect(alice.core.getState().waiting).toEqual([]);
    await expect(alice.core.startGrant(waiting.grantId)).rejects.toMatchObject({ code: 'not_ready' });
    await alice.core.release(grant.grantId);
  });

  it('a named start time: approved ahead, it starts by itself then and the credential arrives', async () => {
    const startAt = new Date(Date.now() + 4000).toISOString();
    const { request, waiting } = await approved('staging-db', { startAt });
    expect(waiting).toMatchObject({ startAt: new Date(Date.parse(startAt)).toISOString(), startBy: null });
    expect(alice.core.getState().myRequests.find((r) => r.id === request.id)?.startAt).toBe(waiting.startAt);
    await expect(alice.core.startGrant(waiting.grantId)).rejects.toMatchObject({ code: 'scheduled' });
    const active = await alice.waitForNotice('grant-active', (n) => n.grant.grantId === waiting.grantId, 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(startAt));
    expect(Date.parse(active.grant.expiresAt) - Date.parse(startAt)).toBe(1800_000);
    expect(alice.core.getState().waiting).toEqual([]);
    await alice.core.release(waiting.grantId);
  });

  it('one not started within its window lapses: a notice, nothing issued, the request expired', async () => {
    const { request, waiting } = await approved('brief-window');
    const lapsed = await alice.waitForNotice('grant-unstarted', (n) => n.grantId === waiting.grantId, 10_000);
    expect(lapsed).toMatchObject({ systemId: 'brief-window', requestId: request.id });
    expect(alice.core.getState().waiting).toEqual([]);
    expect(alice.notices.some((n) => n.kind === 'grant-wiped' && n.grantId === waiting.grantId)).toBe(false);
    await until(() => alice.core.getState().myRequests.find((r) => r.id === request.id)?.state === 'expired');
    await expect(alice.core.startGrant(waiting.grantId)).rejects.toMatchObject({ code: 'not_ready' });
  });

  it('giving one up ends it at the server, with nothing issued', async () => {
    const { request, waiting } = await approved('ops-console');
    await alice.core.release(waiting.grantId);
    expect(alice.core.getState().waiting).toEqual([]);
    const server = await dev.api('alice', 'GET', `/v1/requests/${request.id}`);
    expect(server.body.grant).toMatchObject({ state: 'ended', endReason: 'released' });
    expect(alice.notices.some((n) => n.kind === 'grant-unstarted' && n.grantId === waiting.grantId)).toBe(false);
  });

  it('after a reconnect the list is the server’s: a waiting approval made while away is there', async () => {
    const { waiting } = await approved('ops-console');
    const restarted = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'alice', dir: alice.dir, service: alice.service });
    await restarted.core.start();
    try {
      await until(() => restarted.core.getState().waiting.find((w) => w.grantId === waiting.grantId), 10_000);
    } finally {
      await restarted.core.stop();
    }
    await alice.core.release(waiting.grantId);
  });
});
