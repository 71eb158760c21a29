import { afterEach, describe, expect, it } from 'vitest';
import { verifyAudit } from '../src/audit/chain';
import { demoProvider } from '../src/providers/demo';
import type { ProviderFactory } from '../src/providers/provider';
import { ENGINES, MINUTE, startHarness, type Harness } from './harness';

/** A named test double: the demo provider whose target can be "down" for revokes. */
function flakyProvider() {
  const state = { down: false, revokes: new Map<string, number>() };
  const factory: ProviderFactory = (system) => {
    const demo = demoProvider(system);
    return {
      ...demo,
      async revoke(input) {
        if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432 (postgres://admin:hunter2@127.0.0.1/db)');
        state.revokes.set(input.grantId, (state.revokes.get(input.grantId) ?? 0) + 1);
      },
    };
  };
  return { state, factory };
}

const sandbox = { systemId: 'demo-sandbox', durationSeconds: 300 };
let open: Harness[] = [];
afterEach(async () => {
  for (const h of open) await h.close();
  open = [];
});

describe.each(ENGINES)('expiry sweeper on %s', (engine) => {
  it('revokes, right at start-up, grants whose deadline passed while the server was down', async () => {
    const flaky = flakyProvider();
    const h = await startHarness({ engine, providers: { demo: flaky.factory } });
    open.push(h);
    const ids = [];
    // Three people: one person has one live grant per system.
    for (let i = 0; i < 3; i++) ids.push((await h.api(await h.person(`engineer-${i}`), 'POST', '/v1/requests', sandbox)).body.grant.id as string);
    await h.server.close();
    h.clock.advance(10 * MINUTE);
    await h.restart();
    // No sweeper pass was run by the test: start-up itself handled the overdue grants.
    const grants = await h.server.store.db.selectFrom('grants').select(['id', 'state', 'end_reason']).where('id', 'in', ids).execute();
    expect(grants.map((g) => g.state)).toEqual(['ended', 'ended', 'ended']);
    for (const id of ids) expect(flaky.state.revokes.get(id)).toBe(1);
  });

  it('retries a failing revoke with backoff, shows it, never drops it, and finishes when the target is back', async () => {
    const flaky = flakyProvider();
    const h = await startHarness({ engine, providers: { demo: flaky.factory } });
    open.push(h);
    const grantId = (await h.api('alice', 'POST', '/v1/requests', sandbox)).body.grant.id as string;
    flaky.state.down = true;
    h.clock.advance(5 * MINUTE);
    await h.server.sweeper.runOnce();
    let row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'revoking', revoke_attempts: 1 });
    expect(row.last_error).not.toContain('hunter2');
    // The grantee already sees the grant as over; the credential can no longer be read.
    expect((await h.api('alice', 'GET', `/v1/grants/${grantId}/credential`)).status).toBe(410);
    const metrics = (await h.api(null, 'GET', '/metrics')).body as string;
    expect(metrics).toMatch(/stint_revoke_failures_total\{provider="demo"\} 1/);
    expect(metrics).toMatch(/stint_revokes_pending 1/);

    for (let i = 0; i < 5; i++) {
      h.clock.advance(row.next_attempt_at! - h.clock.ms);
      await h.server.sweeper.runOnce();
      row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
    }
    expect(row).toMatchObject({ state: 'revoking', revoke_attempts: 6 });
    expect(row.next_attempt_at! - h.clock.ms).toBe(32_000); // 1, 2, 4, 8, 16, 32 s

    flaky.state.down = false;
    h.clock.advance(32_000);
    await h.server.sweeper.runOnce();
    row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'ended', revoke_count: 1, last_error: null });
    expect(flaky.state.revokes.get(grantId)).toBe(1);
    expect((await h.api(null, 'GET', '/metrics')).body).toMatch(/stint_revokes_pending 0/);
  });

  it('measures revoke lateness to the provider’s confirmation, not to when the grant was marked ended', async () => {
    const flaky = flakyProvider();
    const h = await startHarness({ engine, providers: { demo: flaky.factory } });
    open.push(h);
    const created = (await h.api('alice', 'POST', '/v1/requests', sandbox)).body.grant;
    flaky.state.down = true; // the target is down across the deadline...
    h.clock.ms = Date.parse(created.expiresAt);
    await h.server.sweeper.runOnce();
    h.clock.advance(64_000); // ...for 64 s
    flaky.state.down = false;
    await h.server.sweeper.runOnce();
    expect((await h.server.store.db.selectFrom('grants').select('state').where('id', '=', created.id).executeTakeFirstOrThrow()).state).toBe('ended');
    const metrics = (await h.api(null, 'GET', '/metrics')).body as string;
    // Nothing at or under 60 s: the one revoke took 64 s from the deadline to confirmation.
    expect(metrics).toMatch(/stint_revoke_lateness_seconds_bucket\{le="60",reason="expired"\} 0/);
    expect(metrics).toMatch(/stint_revoke_lateness_seconds_count\{reason="expired"\} 1/);
    expect(metrics).toMatch(/stint_revoke_lateness_seconds_sum\{reason="expired"\} 64/);
    const audit = (await h.api('dana', 'GET', '/v1/audit?limit=1000')).body.entries as { action: string; targetId: string; detail: Record<string, unknown> }[];
    const revoked = audit.find((e) => e.action === 'grant.credential_revoked' && e.targetId === created.id);
    expect(revoked?.detail).toMatchObject({ latenessMs: 64_000, attempts: 2 });
  });

  it('tells the grantee before the deadline, once', async () => {
    const h = await startHarness({ engine });
    open.push(h);
    const grantId = (await h.api('alice', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 900 })).body.grant.id;
    h.clock.advance(9 * MINUTE);
    await h.server.sweeper.runOnce();
    const count = async () => (await h.server.store.db.selectFrom('events').select('type').where('type', '=', 'grant.expiring').execute()).length;
    expect(await count()).toBe(0);
    h.clock.advance(2 * MINUTE);
    await h.server.sweeper.runOnce();
    await h.server.sweeper.runOnce();
    expect(await count()).toBe(1);
    expect(grantId).toBeTruthy();
  });
});

describe('several replicas on one PostgreSQL', () => {
  it('revokes each grant exactly once', async () => {
    const flaky = flakyProvider();
    const h = await startHarness({ engine: 'postgres', providers: { demo: flaky.factory } });
    open.push(h);
    const replica = await h.replica();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await h.api(await h.person(`engineer-${i}`), 'POST', '/v1/requests', sandbox)).body.grant.id as string);
    h.clock.advance(6 * MINUTE);
    await Promise.all([h.server.sweeper.runOnce(), replica.sweeper.runOnce(), h.server.sweeper.runOnce(), replica.sweeper.runOnce()]);
    const rows = await h.server.store.db.selectFrom('grants').select(['id', 'state', 'revoke_count']).where('id', 'in', ids).execute();
    expect(rows.every((r) => r.state === 'ended' && r.revoke_count === 1)).toBe(true);
    expect(ids.map((id) => flaky.state.revokes.get(id))).toEqual(ids.map(() => 1));
    const ended = await h.server.store.db.selectFrom('audit').select('target_id').where('action', '=', 'grant.expired').where('target_id', 'in', ids).execute();
    expect(ended).toHaveLength(40);
    expect(await verifyAudit(h.server.store.db)).toMatchObject({ ok: true });
  });
});
