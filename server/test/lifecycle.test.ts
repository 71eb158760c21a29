import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, MINUTE, startHarness, type Harness } from './harness';

const prodRequest = { systemId: 'prod-db', durationSeconds: 900, reason: 'rotate the index', ticket: 'OPS-42' };

describe.each(ENGINES)('request lifecycle on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine });
  });
  afterAll(async () => h?.close());

  it('takes a request from pending to active to expired, with a credential only while active', async () => {
    const created = await h.api('alice', 'POST', '/v1/requests', prodRequest);
    expect(created.status).toBe(201);
    expect(created.body.request).toMatchObject({ state: 'pending', approvalsRequired: 1, approverGroups: ['sre-leads'], requester: { sub: 'alice' } });
    const id = created.body.request.id;

    const inbox = await h.api('bob', 'GET', '/v1/requests?scope=review');
    expect(inbox.body.requests.map((r: { id: string }) => r.id)).toContain(id);

    const approved = await h.api('bob', 'POST', `/v1/requests/${id}/reviews`, { decision: 'approve', comment: 'ok' });
    expect(approved.status).toBe(200);
    expect(approved.body.request.state).toBe('active');
    const grant = approved.body.grant;
    expect(grant).toMatchObject({ state: 'active', systemId: 'prod-db', envNames: ['PROD_DB_TOKEN'] });
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)).toBe(900_000);

    const credential = await h.api('alice', 'GET', `/v1/grants/${grant.id}/credential`);
    expect(credential.status).toBe(200);
    expect(credential.headers.get('cache-control')).toBe('no-store');
    expect(credential.body.credential.env.PROD_DB_TOKEN).toMatch(/^stint_demo_/);

    const mine = await h.api('alice', 'GET', '/v1/grants?scope=mine&active=true');
    expect(mine.body.grants.map((g: { id: string }) => g.id)).toContain(grant.id);

    h.clock.advance(15 * MINUTE);
    await h.server.sweeper.runOnce();
    const after = await h.api('alice', 'GET', `/v1/requests/${id}`);
    expect(after.body.request.state).toBe('expired');
    expect(after.body.grant).toMatchObject({ state: 'ended', endReason: 'expired' });
    const gone = await h.api('alice', 'GET', `/v1/grants/${grant.id}/credential`);
    expect(gone.status).toBe(410);
    expect(gone.body.message).toMatch(/request access again/);

    const audit = await h.api('dana', 'GET', '/v1/audit?limit=1000');
    const actions = audit.body.entries.filter((e: { targetId: string }) => e.targetId === id || e.targetId === grant.id).map((e: { action: string }) => e.action);
    expect(actions).toEqual(['request.created', 'review.approve', 'request.approved', 'grant.activated', 'request.active', 'credential.read', 'grant.expired', 'request.expired', 'grant.credential_revoked']);
  });

  it('activates a sandbox request at once (no approvals needed) and lets the grantee release it', async () => {
    const created = await h.api('alice', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
    expect(created.body.request.state).toBe('active');
    const released = await h.api('alice', 'POST', `/v1/grants/${created.body.grant.id}/release`);
    expect(released.body.grant).toMatchObject({ state: 'ended', endReason: 'released' });
    expect((await h.api('alice', 'GET', `/v1/requests/${created.body.request.id}`)).body.request.state).toBe('revoked');
    expect((await h.api('alice', 'POST', `/v1/grants/${created.body.grant.id}/release`)).status).toBe(409);
  });

  it('needs two distinct approvers for payments-admin; one stays pending', async () => {
    const { body } = await h.api('alice', 'POST', '/v1/requests', { systemId: 'payments-admin', durationSeconds: 900, reason: 'refund #123' });
    const id = body.request.id;
    const first = await h.api('bob', 'POST', `/v1/requests/${id}/reviews`, { decision: 'approve' });
    expect(first.body.request.state).toBe('pending');
    const again = await h.api('bob', 'POST', `/v1/requests/${id}/reviews`, { decision: 'approve' });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('already_reviewed');
    expect((await h.api('alice', 'GET', `/v1/requests/${id}`)).body.request.state).toBe('pending');
    const second = await h.api('carol', 'POST', `/v1/requests/${id}/reviews`, { decision: 'approve' });
    expect(second.body.request.state).toBe('active');
  });

  it('ends a request on one denial', async () => {
    // Not alice: she holds payments-admin since the test above.
    const { body } = await h.api(await h.person('erin'), 'POST', '/v1/requests', { systemId: 'payments-admin', durationSeconds: 900, reason: 'refund' });
    await h.api('bob', 'POST', `/v1/requests/${body.request.id}/reviews`, { decision: 'approve' });
    const denied = await h.api('carol', 'POST', `/v1/requests/${body.request.id}/reviews`, { decision: 'deny', comment: 'use the tool' });
    expect(denied.body.request).toMatchObject({ state: 'denied', grantId: null });
    expect(denied.body.grant).toBeNull();
  });

  it('lets the requester cancel a pending request, and nobody else', async () => {
    const { body } = await h.api('alice', 'POST', '/v1/requests', prodRequest);
    expect((await h.api('bob', 'POST', `/v1/requests/${body.request.id}/cancel`)).status).toBe(403);
    const cancelled = await h.api('alice', 'POST', `/v1/requests/${body.request.id}/cancel`);
    expect(cancelled.body.request.state).toBe('cancelled');
    expect((await h.api('bob', 'POST', `/v1/requests/${body.request.id}/reviews`, { decision: 'approve' })).status).toBe(409);
  });

  it('expires pending requests after their TTL', async () => {
    const { body } = await h.api('alice', 'POST', '/v1/requests', prodRequest);
    h.clock.advance(29 * MINUTE);
    await h.server.sweeper.runOnce();
    expect((await h.api('alice', 'GET', `/v1/requests/${body.request.id}`)).body.request.state).toBe('pending');
    h.clock.advance(MINUTE);
    const late = await h.api('bob', 'POST', `/v1/requests/${body.request.id}/reviews`, { decision: 'approve' });
    expect(late.status).toBe(409);
    await h.server.sweeper.runOnce();
    expect((await h.api('alice', 'GET', `/v1/requests/${body.request.id}`)).body.request.state).toBe('expired');
  });

  it('activates break-glass at once and flags it for review', async () => {
    const { status, body } = await h.api('bob', 'POST', '/v1/requests', { ...prodRequest, breakGlass: true });
    expect(status).toBe(201);
    expect(body.request).toMatchObject({ state: 'active', breakGlass: true, flaggedForReview: true });
    const audit = await h.api('dana', 'GET', '/v1/audit?limit=1000');
    expect(audit.body.entries).toContainEqual(expect.objectContaining({ action: 'request.break_glass', targetId: body.request.id, detail: expect.objectContaining({ flaggedForReview: true }) }));
    expect((await h.api('alice', 'POST', '/v1/requests', { ...prodRequest, breakGlass: true })).status).toBe(403);
  });

  it('extends a grant under the same policy as a new request', async () => {
    const created = await h.api('bob', 'POST', '/v1/requests', { systemId: 'staging-db', durationSeconds: 1800 });
    expect(created.body.grant.state).toBe('active');
    const grantId = created.body.grant.id;
    const before = Date.parse(created.body.grant.expiresAt);
    const tooLong = await h.api('bob', 'POST', `/v1/grants/${grantId}/extend`, { durationSeconds: 9 * 3600 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.message).toMatch(/maximum for staging-db, which is 8h/);
    const extended = await h.api('bob', 'POST', `/v1/grants/${grantId}/extend`, { durationSeconds: 900 });
    expect(extended.status).toBe(201);
    expect(extended.body.request).toMatchObject({ state: 'active', extendsGrantId: grantId });
    expect(Date.parse(extended.body.grant.expiresAt)).toBe(before + 900_000);

    // Alice is not auto-approved: her extension waits for a reviewer.
    const hers = await h.api('alice', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 600 });
    const pending = await h.api('alice', 'POST', '/v1/requests', { systemId: 'staging-db', durationSeconds: 600 });
    const approved = await h.api('bob', 'POST', `/v1/requests/${pending.body.request.id}/reviews`, { decision: 'approve' });
    const ext = await h.api('alice', 'POST', `/v1/grants/${approved.body.grant.id}/extend`, { durationSeconds: 600 });
    expect(ext.body.request.state).toBe('pending');
    const ok = await h.api('carol', 'POST', `/v1/requests/${ext.body.request.id}/reviews`, { decision: 'approve' });
    expect(ok.body.request.state).toBe('active');
    expect(hers.status).toBe(201);
  });

  it('extends a grant of a ticket-gated system with its own reason and ticket, unless new ones are given', async () => {
    const asked = await h.api('alice', 'POST', '/v1/requests', { systemId: 'prod-db', durationSeconds: 900, reason: 'fix the index', ticket: 'INC-7' });
    const approved = await h.api('bob', 'POST', `/v1/requests/${asked.body.request.id}/reviews`, { decision: 'approve' });
    const grantId = approved.body.grant.id as string;
    // No reason, no ticket: the grant's own are reused, so the policy is met as it was.
    const again = await h.api('alice', 'POST', `/v1/grants/${grantId}/extend`, { durationSeconds: 900 });
    expect(again.status).toBe(201);
    expect(again.body.request).toMatchObject({ state: 'pending', extendsGrantId: grantId, reason: 'fix the index', ticket: 'INC-7' });
    await h.api('alice', 'POST', `/v1/requests/${again.body.request.id}/cancel`);
    // New ones replace them, and are checked like a new request's.
    const other = await h.api('alice', 'POST', `/v1/grants/${grantId}/extend`, { durationSeconds: 900, reason: 'the index again', ticket: 'OPS-9' });
    expect(other.body.request).toMatchObject({ reason: 'the index again', ticket: 'OPS-9' });
    await h.api('alice', 'POST', `/v1/requests/${other.body.request.id}/cancel`);
    const wrong = await h.api('alice', 'POST', `/v1/grants/${grantId}/extend`, { durationSeconds: 900, ticket: 'JIRA-1' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('ticket_required');
  });

  it('lets an admin revoke someone else’s grant, and no one else', async () => {
    // Not alice: she holds the sandbox since the test above.
    const grantee = await h.person('frank');
    const created = await h.api(grantee, 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
    const grantId = created.body.grant.id;
    expect((await h.api('bob', 'POST', `/v1/grants/${grantId}/revoke`, { reason: 'x' })).status).toBe(403);
    expect((await h.api('bob', 'POST', `/v1/grants/${grantId}/release`)).status).toBe(404);
    const revoked = await h.api('dana', 'POST', `/v1/grants/${grantId}/revoke`, { reason: 'offboarding' });
    expect(revoked.body.grant).toMatchObject({ state: 'ended', endReason: 'revoked' });
    expect((await h.api(grantee, 'GET', `/v1/grants/${grantId}/credential`)).status).toBe(410);
  });

  it('keeps audit verify green over the whole run', async () => {
    const { verifyAudit } = await import('../src/audit/chain');
    expect(await verifyAudit(h.server.store.db)).toMatchObject({ ok: true });
  });
});
