import { afterEach, describe, expect, it } from 'vitest';
import { verifyAudit } from '../src/audit/chain';
import { demoProvider } from '../src/providers/demo';
import type { ProviderFactory } from '../src/providers/provider';
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

  it('revokes a credential that arrives after recovery gave its issue up, with the credential’s own state', async () => {
    const { gated, h, requestId, review } = await approvalStillIssuing(engine);
    // The provider is slow past the 30 s recovery waits for: recovery records a failure.
    h.clock.advance(31_000);
    await h.server.sweeper.runOnce();
    const { grant_id: grantId } = await h.server.store.db.selectFrom('requests').select('grant_id').where('id', '=', requestId).executeTakeFirstOrThrow();
    expect(gated.state.revoked).toEqual([{ state: {}, afterIssue: false }]);

    // Then the provider answers after all: its credential must not become usable.
    gated.state.issuing.shift()!();
    const reviewed = await review;
    expect(reviewed.body.request.state).toBe('revoked');
    expect(reviewed.body.grant).toMatchObject({ id: grantId, state: 'ended', endReason: 'failed' });
    expect(gated.state.revoked).toHaveLength(2);
    expect(gated.state.revoked[1]!.state).toHaveProperty('tokenSuffix');
    expect(gated.state.revoked[1]!.afterIssue).toBe(true);
    expect((await h.api('alice', 'GET', `/v1/grants/${grantId}/credential`)).status).toBe(410);
    const actions = (await h.server.store.db.selectFrom('audit').select('action').where('target_id', '=', grantId!).orderBy('seq').execute()).map((r) => r.action);
    expect(actions).toEqual(['grant.issue_failed', 'grant.credential_revoked', 'grant.late_credential_revoked', 'grant.credential_revoked']);
    expect(await verifyAudit(h.server.store.db)).toMatchObject({ ok: true });
  });

  it('revokes a late credential even while recovery’s own revoke is still running, and credits that revoke once', async () => {
    // The issue comes back with state {} (the same as recovery's placeholder), and recovery's
    // revoke, sent before the credential existed, is still in flight when it does.
    const { gated, h, review } = await approvalStillIssuing(engine, { holdFirstRevoke: true, emptyState: true });
    h.clock.advance(31_000);
    const sweep = h.server.sweeper.runOnce();
    while (gated.state.revoking.length === 0) await new Promise((r) => setTimeout(r, 5));

    gated.state.issuing.shift()!();
    const reviewed = await review;
    gated.state.revoking.shift()!();
    await sweep;

    const grantId = reviewed.body.grant.id as string;
    const grant = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
    expect(grant).toMatchObject({ state: 'ended', end_reason: 'failed', revoke_count: 1, lease_owner: null });
    // A revoke reached the provider after the credential existed.
    expect(gated.state.revoked.some((r) => r.afterIssue)).toBe(true);
    const actions = (await h.server.store.db.selectFrom('audit').select('action').where('target_id', '=', grantId).orderBy('seq').execute()).map((r) => r.action);
    expect(actions).toEqual(['grant.issue_failed', 'grant.late_credential_revoked', 'grant.credential_revoked']);
    expect(await verifyAudit(h.server.store.db)).toMatchObject({ ok: true });
  });
});
