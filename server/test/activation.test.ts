import { afterEach, describe, expect, it } from 'vitest';
import { verifyAudit } from '../src/audit/chain';
import { demoProvider } from '../src/providers/demo';
import { ISSUE_LEASE_MS } from '../src/access/activation';
import { ProviderRefusal, type ProviderFactory } from '../src/providers/provider';
import { ENGINES, startHarness, type Engine, type Harness } from './harness';

/**
 * A named test double: the demo provider, whose issue waits until the test lets it finish;
 * with `holdFirstRevoke` the first revoke waits too; `emptyState` issues with state {} (as a
 * webhook receiver that keeps its own may).
 */
function gatedProvider(options: { holdFirstRevoke?: boolean; emptyState?: boolean } = {}) {
  const state = { issuing: [] as (() => void)[], revoking: [] as (() => void)[], revoked: [] as { state: Record<string, unknown>; afterIssue: boolean }[], issued: false };
  const factory: ProviderFactory = (system) => {
    const demo = demoProvider(system);
    return {
      ...demo,
      async issue(input) {
        await new Promise<void>((resolve) => state.issuing.push(resolve));
        const issued = await demo.issue(input);
        state.issued = true;
        return options.emptyState ? { ...issued, state: {} } : issued;
      },
      async revoke(input) {
        const afterIssue = state.issued;
        if (options.holdFirstRevoke && state.revoked.length === 0 && state.revoking.length === 0) await new Promise<void>((resolve) => state.revoking.push(resolve));
        state.revoked.push({ state: input.state, afterIssue });
      },
    };
  };
  const issueStarted = async () => {
    while (state.issuing.length === 0) await new Promise((r) => setTimeout(r, 5));
  };
  return { state, factory, issueStarted };
}

const staging = { systemId: 'staging-db', durationSeconds: 600, reason: 'deploy' };
let open: Harness[] = [];
afterEach(async () => {
  for (const h of open) await h.close();
  open = [];
});

/** A server whose provider is still issuing the credential of Bob's approval of Alice's request. */
async function approvalStillIssuing(engine: Engine, options: Parameters<typeof gatedProvider>[0] = {}) {
  const gated = gatedProvider(options);
  const h = await startHarness({ engine, providers: { demo: gated.factory }, manualSweep: true });
  open.push(h);
  const created = await h.api('alice', 'POST', '/v1/requests', staging);
  expect(created.body.request.state).toBe('pending');
  const requestId = created.body.request.id as string;
  const review = h.api('bob', 'POST', `/v1/requests/${requestId}/reviews`, { decision: 'approve' });
  await gated.issueStarted();
  return { gated, h, requestId, review };
}

describe.each(ENGINES)('activating an approved request on %s', (engine) => {
  it('claims the grant in the commit that approves: while the provider issues, the request names its issuing grant', async () => {
    const { gated, h, requestId, review } = await approvalStillIssuing(engine);
    const request = await h.server.store.db.selectFrom('requests').selectAll().where('id', '=', requestId).executeTakeFirstOrThrow();
    expect(request.state).toBe('approved');
    expect(request.grant_id).not.toBeNull();
    const grant = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', request.grant_id!).executeTakeFirstOrThrow();
    expect(grant).toMatchObject({ state: 'issuing', request_id: request.id, grantee_sub: 'alice' });

    gated.state.issuing.shift()!();
    const reviewed = await review;
    expect(reviewed.status).toBe(200);
    expect(reviewed.body.request).toMatchObject({ state: 'active', grantId: grant.id });
    expect(reviewed.body.grant).toMatchObject({ id: grant.id, state: 'active' });
    // The answer is what a fresh read shows.
    const fresh = await h.api('alice', 'GET', `/v1/requests/${requestId}`);
    expect(fresh.body).toEqual({ request: reviewed.body.request, grant: reviewed.body.grant });
  });

  it('does not give up a slow provider: its credential is recorded when it answers, whatever recovery runs meanwhile', async () => {
    const { gated, h, requestId, review } = await approvalStillIssuing(engine);
    h.clock.advance(31_000);
    await h.server.sweeper.runOnce();
    expect(gated.state.revoked).toEqual([]);
    expect(gated.state.issuing).toHaveLength(1); // no second attempt while this one holds its lease
    gated.state.issuing.shift()!();
    const reviewed = await review;
    expect(reviewed.body.request).toMatchObject({ id: requestId, state: 'active' });
    expect(reviewed.body.grant.state).toBe('active');
  });

  it('resumes an issue whose attempt died (its lease lapsed): the request becomes active, not revoked', async () => {
    const { gated, h, requestId, review } = await approvalStillIssuing(engine);
    // As after a crash: the attempt that held the lease is gone, and its lease runs out.
    h.clock.advance(ISSUE_LEASE_MS + 1000);
    const sweep = h.server.sweeper.runOnce();
    while (gated.state.issuing.length < 2) await new Promise((r) => setTimeout(r, 5));
    gated.state.issuing[1]!(); // the resumed attempt answers
    await sweep;
    const view = await h.api('alice', 'GET', `/v1/requests/${requestId}`);
    expect(view.body.request.state).toBe('active');
    expect(view.body.grant).toMatchObject({ state: 'active' });
    expect((await h.api('alice', 'GET', `/v1/grants/${view.body.grant.id}/credential`)).status).toBe(200);
    // The dead attempt's late answer changes nothing: the grant is the same resource.
    gated.state.issuing[0]!();
    await review;
    const actions = (await h.server.store.db.selectFrom('audit').select('action').where('target_id', '=', view.body.grant.id).orderBy('seq').execute()).map((r) => r.action);
    expect(actions).toEqual(['grant.activated', 'credential.read']);
    expect(gated.state.revoked).toEqual([]);
    expect(await verifyAudit(h.server.store.db)).toMatchObject({ ok: true });
  });

  it('retries an issue that failed in a way a retry may get past, and activates when the provider is back', async () => {
    let down = true;
    const flaky: ProviderFactory = (system) => {
      const demo = demoProvider(system);
      return { ...demo, issue: async (input) => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : demo.issue(input)) };
    };
    const h = await startHarness({ engine, providers: { demo: flaky }, manualSweep: true });
    open.push(h);
    const created = await h.api('alice', 'POST', '/v1/requests', staging);
    const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(reviewed.body.request.state).toBe('approved');
    expect(reviewed.body.grant).toMatchObject({ state: 'issuing' });
    const row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', reviewed.body.grant.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ issue_attempts: 1, last_error: 'connect ECONNREFUSED' });
    expect((await h.api(null, 'GET', '/metrics')).body).toMatch(/stint_issue_retries_total\{provider="demo"\} 1/);
    down = false;
    h.clock.advance(row.next_attempt_at! - h.clock.ms);
    await h.server.sweeper.runOnce();
    expect((await h.api('alice', 'GET', `/v1/requests/${created.body.request.id}`)).body.request.state).toBe('active');
  });

  it('ends the grant when the provider refuses, and shows the requester its reason', async () => {
    const refusing: ProviderFactory = (system) => ({ ...demoProvider(system), issue: async () => Promise.reject(new ProviderRefusal('your login name "x!" cannot be used as it is')) });
    const h = await startHarness({ engine, providers: { demo: refusing }, manualSweep: true });
    open.push(h);
    const created = await h.api('alice', 'POST', '/v1/requests', staging);
    const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(reviewed.body.request).toMatchObject({ state: 'revoked', failureReason: 'your login name "x!" cannot be used as it is' });
    expect(reviewed.body.grant).toMatchObject({ state: 'ended', endReason: 'failed' });
    const mine = await h.api('alice', 'GET', `/v1/requests/${created.body.request.id}`);
    expect(mine.body.request.failureReason).toBe('your login name "x!" cannot be used as it is');
  });

  it('gives up, with the reason, when the deadline passes before the provider could issue', async () => {
    const down: ProviderFactory = (system) => ({ ...demoProvider(system), issue: async () => Promise.reject(new Error('timeout')) });
    const h = await startHarness({ engine, providers: { demo: down }, manualSweep: true });
    open.push(h);
    const created = await h.api('alice', 'POST', '/v1/requests', { ...staging, durationSeconds: 900 });
    const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(reviewed.body.grant.state).toBe('issuing');
    h.clock.advance(901_000);
    await h.server.sweeper.runOnce();
    const view = await h.api('alice', 'GET', `/v1/requests/${created.body.request.id}`);
    expect(view.body.request.state).toBe('revoked');
    expect(view.body.request.failureReason).toMatch(/deadline passed before the credential could be issued \(last error: timeout\)/);
    expect(view.body.grant).toMatchObject({ state: 'ended', endReason: 'failed' });
  });
});

describe.each(ENGINES)('the configuration changing under approvals on %s', (engine) => {
  it('refuses to approve a request whose system a reload removed while it waited, and changes nothing', async () => {
    const h = await startHarness({ engine, manualSweep: true });
    open.push(h);
    const created = await h.api('alice', 'POST', '/v1/requests', staging);
    h.server.reload({ ...h.config, systems: h.config.systems.filter((s) => s.id !== staging.systemId) });
    const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(reviewed.status).toBe(409);
    expect(reviewed.body).toMatchObject({ error: 'system_not_configured' });
    expect(reviewed.body.message).toMatch(/staging-db is no longer configured/);
    const view = await h.api('alice', 'GET', `/v1/requests/${created.body.request.id}`);
    expect(view.body.request).toMatchObject({ state: 'pending' });
    expect(await h.server.store.db.selectFrom('grants').select('id').execute()).toEqual([]);
  });

  it("a timer pass does not wait for a slow resumed issue: another grant's deadline is kept meanwhile", async () => {
    const { gated, h, review } = await approvalStillIssuing(engine);
    // Carol's sandbox grant (auto-approved) runs for five minutes.
    const asked = h.api('carol', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300, reason: 'look' });
    while (gated.state.issuing.length < 2) await new Promise((r) => setTimeout(r, 5));
    gated.state.issuing[1]!();
    const sandbox = await asked;
    expect(sandbox.body.grant).toMatchObject({ state: 'active' });
    // Bob's approval's attempt is presumed dead: the timer's pass resumes it, and it hangs.
    h.clock.advance(ISSUE_LEASE_MS + 1000);
    await h.server.sweeper.runOnce({ background: true });
    while (gated.state.issuing.length < 3) await new Promise((r) => setTimeout(r, 5));
    // The next pass still ends Carol's grant at its deadline.
    h.clock.advance(300_000);
    await h.server.sweeper.runOnce({ background: true });
    const ended = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', sandbox.body.grant.id).executeTakeFirstOrThrow();
    for (const release of gated.state.issuing) release();
    expect(ended).toMatchObject({ state: 'ended', end_reason: 'expired' });
    await review;
    await h.server.sweeper.stop();
  });
});
