import { BridgeCalls } from '@stint/contract';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../test-support/browser';
import { startDevServer, type DevServer } from '../../test-support/dev-server';
import { createDispatcher, type Dispatch } from '../src/bridge/dispatch';
import { makeCore, until, type TestCore } from './stack';

/**
 * The Insights screen's calls and My history's grant times, through the UI bridge's dispatcher,
 * against the dev server: Dana (admin and auditor) gets figures and the rows behind them; Alice
 * (an engineer) is refused by the server.
 */
describe('core: insights, audit rows and history grant times', () => {
  let dev: DevServer;
  let browser: Browser;
  let alice: TestCore;
  let dana: TestCore;
  let asAlice: Dispatch;
  let asDana: Dispatch;

  beforeAll(async () => {
    [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
    alice = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'alice' });
    dana = await makeCore({ serverUrl: dev.serverUrl, browser, user: 'dana' });
    await Promise.all([alice.core.start(), dana.core.start()]);
    await alice.core.signIn();
    await dana.core.signIn();
    asAlice = createDispatcher(alice.core, 'bridge');
    asDana = createDispatcher(dana.core, 'bridge');
  }, 60_000);
  afterAll(async () => {
    await alice?.core.stop();
    await dana?.core.stop();
    await browser?.close();
    await dev?.stop();
  });

  it('gives Dana the figures of a request Alice made and released, and the audit rows behind them', async () => {
    const request = await alice.core.request({ systemId: 'demo-sandbox', durationSeconds: 900, reason: 'insights check' });
    const grant = await until(() => alice.core.getState().grants.find((g) => g.requestId === request.id), 5000, 10);
    await alice.core.release(grant.grantId);

    const reply = await asDana('insights', { system: 'demo-sandbox' });
    if (!reply.ok) throw new Error(`insights refused: ${reply.error.message}`);
    const insights = BridgeCalls.insights.output.parse(reply.result);
    expect(insights.period.system).toBe('demo-sandbox');
    expect(insights.series.map((s) => s.systemId)).toEqual(['demo-sandbox']);
    const requests = insights.series[0]!.days.flatMap((d) => d.requests.seqs);
    expect(requests.length).toBeGreaterThanOrEqual(1);
    const use = insights.grantUse.find((g) => g.systemId === 'demo-sandbox')!;
    expect(use.releasedEarly.count).toBeGreaterThanOrEqual(1);

    // The rows behind "requests" are request.created rows, and this request's is among them.
    const rows = await asDana('auditRows', { seqs: requests });
    if (!rows.ok) throw new Error(`auditRows refused: ${rows.error.message}`);
    const { entries } = BridgeCalls.auditRows.output.parse(rows.result);
    expect(entries.map((e) => e.seq)).toEqual([...requests].sort((a, b) => a - b));
    expect(new Set(entries.map((e) => e.action))).toEqual(new Set(['request.created']));
    expect(entries.some((e) => e.targetId === request.id && e.actor === 'alice')).toBe(true);
    const released = await dana.core.auditRows(use.releasedEarly.seqs);
    expect(released.some((e) => e.action === 'grant.released' && e.targetId === grant.grantId)).toBe(true);
  });

  it('refuses Alice, an engineer, with the server’s own answer', async () => {
    expect(alice.core.getState().auth.user).toMatchObject({ isAuditor: false, isAdmin: false });
    expect(await asAlice('insights', {})).toEqual({ ok: false, error: { code: 'not_an_auditor', message: expect.stringMatching(/auditors and admins/) } });
    expect(await asAlice('auditRows', { seqs: [1] })).toEqual({ ok: false, error: { code: 'not_an_auditor', message: expect.any(String) } });
  });

  it('refuses what the schema refuses before asking the server', async () => {
    expect(await asDana('auditRows', { seqs: [] })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await asDana('auditRows', { seqs: Array.from({ length: 51 }, (_, i) => i + 1) })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await asDana('insights', { from: 'last week' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await asDana('insights', { from: '2026-11-05', to: '2026-11-01' })).toMatchObject({ ok: false, error: { code: 'invalid_period' } });
  });

  it("gives Alice's history the times of each grant, so the time used can be shown", async () => {
    const reply = await asAlice('history', {});
    if (!reply.ok) throw new Error(`history refused: ${reply.error.message}`);
    const history = BridgeCalls.history.output.parse(reply.result);
    const released = history.find((r) => r.reason === 'insights check')!;
    expect(released.grant).toMatchObject({ state: 'ended', endReason: 'released', endedAt: expect.any(String) });
    expect(Date.parse(released.grant!.expiresAt) - Date.parse(released.grant!.startsAt)).toBe(900_000);
    expect(Date.parse(released.grant!.endedAt!)).toBeLessThan(Date.parse(released.grant!.expiresAt));
  });
});
