// An approver may approve for less time than was asked, never more (issue 21): the grant runs
// for what was approved, the requester sees both, and N-of-M approvals take the shortest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startHarness, type Harness } from './harness';

const prodRequest = { systemId: 'prod-db', durationSeconds: 7200, reason: 'rotate the index', ticket: 'OPS-42' };

describe.each(ENGINES)('approve for less on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine });
  });
  afterAll(async () => h?.close());

  it('grants what the approver approved, and the requester sees what they asked and what they got', async () => {
    const erin = await h.person('erin');
    const created = await h.api(erin, 'POST', '/v1/requests', prodRequest);
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve', durationSeconds: 1800, comment: 'half an hour is enough for an index' });
    expect(approved.status).toBe(200);
    expect(approved.body.request).toMatchObject({ state: 'active', durationSeconds: 1800, askedSeconds: 7200 });
    expect(approved.body.request.reviews[0]).toMatchObject({ decision: 'approve', durationSeconds: 1800, comment: 'half an hour is enough for an index' });
    const grant = approved.body.grant;
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)).toBe(1800_000);
    // The requester's own view says the same.
    const mine = await h.api(erin, 'GET', `/v1/requests/${created.body.request.id}`);
    expect(mine.body.request).toMatchObject({ durationSeconds: 1800, askedSeconds: 7200 });
    // The audit log names what was approved against what was asked.
    const audit = await h.api('dana', 'GET', '/v1/audit?limit=1000');
    const review = audit.body.entries.find((e: any) => e.action === 'review.approve' && e.targetId === created.body.request.id);
    expect(review.detail).toMatchObject({ durationSeconds: 1800, askedSeconds: 7200 });
    await h.api(erin, 'POST', `/v1/grants/${grant.id}/release`);
  });

  it('refuses approving for longer than asked, and a duration on a denial, changing nothing', async () => {
    const fay = await h.person('fay');
    const created = await h.api(fay, 'POST', '/v1/requests', { ...prodRequest, durationSeconds: 900 });
    const id = created.body.request.id;
    const longer = await h.api('bob', 'POST', `/v1/requests/${id}/reviews`, { decision: 'approve', durationSeconds: 3600 });
    expect(longer.status).toBe(422);
    expect(longer.body).toEqual({ error: 'longer_than_asked', message: 'You can approve for less than was asked (900 s), never more; the requester can ask to extend later.' });
    const denyFor = await h.api('bob', 'POST', `/v1/requests/${id}/reviews`, { decision: 'deny', durationSeconds: 600 });
    expect(denyFor.status).toBe(422);
    expect(denyFor.body.error).toBe('duration_on_deny');
    const still = await h.api(fay, 'GET', `/v1/requests/${id}`);
    expect(still.body.request).toMatchObject({ state: 'pending', reviews: [], durationSeconds: 900, askedSeconds: null });
    // Approving for exactly what was asked is an ordinary approval.
    const same = await h.api('bob', 'POST', `/v1/requests/${id}/reviews`, { decision: 'approve', durationSeconds: 900 });
    expect(same.body.request).toMatchObject({ state: 'active', durationSeconds: 900, askedSeconds: null });
    expect(same.body.request.reviews[0].durationSeconds).toBeNull();
    await h.api(fay, 'POST', `/v1/grants/${same.body.grant.id}/release`);
  });

  it('takes the shortest of N-of-M approvals', async () => {
    const gil = await h.person('gil');
    const security = await h.person('sam-security', ['security']);
    const created = await h.api(gil, 'POST', '/v1/requests', { systemId: 'payments-admin', durationSeconds: 3600, reason: 'refund INC-7' });
    const id = created.body.request.id;
    const first = await h.api(security, 'POST', `/v1/requests/${id}/reviews`, { decision: 'approve', durationSeconds: 900 });
    // One approval of two: still pending, and still for what was asked until the last approval.
    expect(first.body.request).toMatchObject({ state: 'pending', durationSeconds: 3600 });
    const second = await h.api('bob', 'POST', `/v1/requests/${id}/reviews`, { decision: 'approve', durationSeconds: 1800 });
    expect(second.body.request).toMatchObject({ state: 'active', durationSeconds: 900, askedSeconds: 3600 });
    expect(Date.parse(second.body.grant.expiresAt) - Date.parse(second.body.grant.startsAt)).toBe(900_000);
  });

  it('approves an extension for less: the grant moves by what was approved', async () => {
    const hal = await h.person('hal');
    const created = await h.api(hal, 'POST', '/v1/requests', { ...prodRequest, durationSeconds: 900 });
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    const extension = await h.api(hal, 'POST', `/v1/grants/${approved.body.grant.id}/extend`, { durationSeconds: 3600, reason: 'still rotating' });
    const extended = await h.api('bob', 'POST', `/v1/requests/${extension.body.request.id}/reviews`, { decision: 'approve', durationSeconds: 600 });
    expect(extended.body.request).toMatchObject({ state: 'active', durationSeconds: 600, askedSeconds: 3600 });
    expect(Date.parse(extended.body.grant.expiresAt)).toBe(Date.parse(approved.body.grant.expiresAt) + 600_000);
  });
});
