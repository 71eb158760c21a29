import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../test-support/browser';
import { keychainLookup, makeCore } from './stack';

const MIN = 60_000;
const entry = (grantId: string, expiresAt: number) => ({
  grantId,
  requestId: randomUUID(),
  systemId: 'prod-db',
  startsAt: new Date(expiresAt - 30 * MIN).toISOString(),
  expiresAt: new Date(expiresAt).toISOString(),
  envNames: ['PROD_DB_TOKEN'],
  hasSshKey: false,
});

/** The expiry clock with an injected clock and the real keychain: no server needed. */
describe('core expiry clock', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => browser?.close());
  const offline = (options: Partial<Parameters<typeof makeCore>[0]> = {}) =>
    makeCore({ serverUrl: 'http://127.0.0.1:9', browser, user: 'alice', ...options });

  it('reminds at 10 and 1 minutes before the deadline, then wipes at it', async () => {
    let now = Date.parse('2026-11-24T10:00:00Z');
    const t = await offline({ now: () => now, manualClock: true });
    await t.core.start();
    const grantId = randomUUID();
    const deadline = Date.parse('2026-11-24T11:00:00Z');
    await t.core.vault.store(entry(grantId, deadline), { env: { PROD_DB_TOKEN: 'secret-1' }, fields: {} });

    now = deadline - 10 * MIN - 1000;
    await t.core.clock.check();
    expect(t.notices).toEqual([]);
    now = deadline - 10 * MIN;
    await t.core.clock.check();
    await t.core.clock.check();
    expect(t.notices).toEqual([expect.objectContaining({ kind: 'grant-reminder', secondsLeft: 600 })]);
    now = deadline - MIN;
    await t.core.clock.check();
    expect(t.notices.at(-1)).toMatchObject({ kind: 'grant-reminder', secondsLeft: 60 });
    now = deadline - 1;
    await t.core.clock.check();
    expect(keychainLookup(t.service, `grant:${grantId}`)).toContain('secret-1');
    now = deadline;
    await t.core.clock.check();
    expect(t.notices.at(-1)).toMatchObject({ kind: 'grant-wiped', grantId, reason: 'expired' });
    expect(keychainLookup(t.service, `grant:${grantId}`)).toBeNull();
    expect(t.notices.filter((n) => n.kind === 'grant-reminder')).toHaveLength(2);
    await t.core.stop();
  });

  it('wipes within a tick when the wall clock jumps past a deadline (a laptop that slept)', async () => {
    let offset = 0;
    const t = await offline({ now: () => Date.now() + offset });
    await t.core.start();
    const grantId = randomUUID();
    await t.core.vault.store(entry(grantId, Date.now() + 60 * MIN), { env: { PROD_DB_TOKEN: 'secret-2' }, fields: {} });
    t.core.clock.rearm();
    offset = 2 * 60 * MIN; // asleep for two hours: no timer fired meanwhile
    const woke = Date.now();
    const receipt = await t.waitForNotice('grant-wiped', (n) => n.grantId === grantId, 3000);
    console.log(`wiped ${Date.now() - woke} ms after waking`);
    expect(receipt.reason).toBe('expired');
    expect(t.notices.some((n) => n.kind === 'grant-reminder')).toBe(false);
    expect(keychainLookup(t.service, `grant:${grantId}`)).toBeNull();
    await t.core.stop();
  });

  it('after a SIGKILL mid-grant, wipes the overdue credential first thing at the next start', async () => {
    const t = await offline();
    const grantId = randomUUID();
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const child = spawn(process.execPath, ['--import', 'tsx', 'core/test/fixtures/hold-grant.ts', t.dir, t.service, grantId, expiresAt], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    expect(keychainLookup(t.service, `grant:${grantId}`)).toContain('crash-test-secret');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 1600)); // the deadline passes while nothing runs

    const restarted = await offline({ dir: t.dir, service: t.service });
    const order: string[] = [];
    restarted.core.onNotice((n) => order.push(n.kind));
    restarted.core.subscribe((s) => order.push(`state:${s.auth.status}:${s.grants.length}`));
    await restarted.core.start();
    // The wipe is the very first thing that happens: before any session or server work.
    expect(order.slice(0, 2)).toEqual(['state:signed-out:0', 'grant-wiped']);
    expect(restarted.notices[0]).toMatchObject({ kind: 'grant-wiped', grantId, reason: 'expired' });
    expect(keychainLookup(t.service, `grant:${grantId}`)).toBeNull();
    expect(restarted.core.vault.entries()).toEqual([]);
    await restarted.core.stop();
  });
});
