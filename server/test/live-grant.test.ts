import { shortId } from '@stint/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRowId } from '../src/store/ids';
import { ENGINES, MINUTE, startHarness, type Harness } from './harness';

const prodRequest = { systemId: 'prod-db', durationSeconds: 900, reason: 'rotate the index', ticket: 'OPS-42' };
const stagingRequest = { systemId: 'staging-db', durationSeconds: 900, reason: 'migrate' };

describe.each(ENGINES)('one live grant per person and system on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine });
  });
  afterAll(async () => h?.close());

  it('refuses a second request while a grant is active, saying for how long it lasts and to extend it instead', async () => {
    const erin = await h.person('erin');
    const created = await h.api(erin, 'POST', '/v1/requests', prodRequest);
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(approved.body.grant.state).toBe('active');

    h.clock.advance(3 * MINUTE);
    const again = await h.api(erin, 'POST', '/v1/requests', prodRequest);
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      error: 'grant_active',
      message: 'You already have access to Production database for another 12 min; extend it instead (Extend on its card, or: stint extend prod-db --for 15m).',
    });

    // Someone else may ask for the same system meanwhile.
    const frank = await h.api(await h.person('frank'), 'POST', '/v1/requests', prodRequest);
    expect(frank.status).toBe(201);

    // More time is an extension, which is not refused.
    const extension = await h.api(erin, 'POST', `/v1/grants/${approved.body.grant.id}/extend`, { durationSeconds: 900 });
    expect(extension.status).toBe(201);
    const extended = await h.api('bob', 'POST', `/v1/requests/${extension.body.request.id}/reviews`, { decision: 'approve' });
    expect(extended.body.request.state).toBe('active');
    expect(Date.parse(extended.body.grant.expiresAt)).toBe(Date.parse(approved.body.grant.expiresAt) + 900_000);

    // Released, it is over: a new request goes through.
    await h.api(erin, 'POST', `/v1/grants/${approved.body.grant.id}/release`);
    const after = await h.api(erin, 'POST', '/v1/requests', prodRequest);
    expect(after.status).toBe(201);
    expect(after.body.request.state).toBe('pending');
  });

  it('refuses a second request while one waits for review, until it is cancelled', async () => {
    const gina = await h.person('gina');
    const first = await h.api(gina, 'POST', '/v1/requests', stagingRequest);
    expect(first.body.request.state).toBe('pending');
    const again = await h.api(gina, 'POST', '/v1/requests', { ...stagingRequest, durationSeconds: 3600 });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      error: 'request_pending',
      message: `You already asked for Staging database and it waits for review; wait for the decision or cancel it (Cancel on its card, or: stint cancel ${shortId(first.body.request.id)}).`,
    });
    // Refusing changed nothing, so it left nothing in the audit log.
    const audit = await h.api('dana', 'GET', '/v1/audit?limit=1000');
    expect(audit.body.entries.filter((e: { actor: string }) => e.actor === gina).map((e: { action: string }) => e.action)).toEqual(['request.created']);

    await h.api(gina, 'POST', `/v1/requests/${first.body.request.id}/cancel`);
    expect((await h.api(gina, 'POST', '/v1/requests', stagingRequest)).status).toBe(201);
  });

  it('holds for break-glass requests, and ends with the grant\'s deadline', async () => {
    // Break-glass needs sre-leads; it is granted at once.
    const hank = await h.person('hank', ['sre-leads']);
    const glass = await h.api(hank, 'POST', '/v1/requests', { ...prodRequest, breakGlass: true });
    expect(glass.body.grant.state).toBe('active');
    const again = await h.api(hank, 'POST', '/v1/requests', { ...prodRequest, breakGlass: true });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('grant_active');
    expect(again.body.message).toMatch(/^You already have access to Production database for another 15 min;/);

    // Past its deadline the grant is over, even before the sweeper has ended it.
    h.clock.advance(15 * MINUTE);
    const after = await h.api(hank, 'POST', '/v1/requests', { ...prodRequest, breakGlass: true });
    expect(after.status).toBe(201);
    expect(after.body.grant.state).toBe('active');
  });

  it('lets one of ten simultaneous requests through, for one person, and every one of ten people', async () => {
    const ivy = await h.person('ivy');
    for (const request of [stagingRequest, { systemId: 'demo-sandbox', durationSeconds: 300 }]) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => h.api(ivy, 'POST', '/v1/requests', request)));
      expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
      const refused = answers.filter((a) => a.status === 409);
      expect(refused).toHaveLength(9);
      expect(new Set(refused.map((a) => a.body.error))).toEqual(new Set([request.systemId === 'demo-sandbox' ? 'grant_active' : 'request_pending']));
    }
    const mine = await h.api(ivy, 'GET', '/v1/requests?scope=mine');
    expect(mine.body.requests).toHaveLength(2);

    const people = await Promise.all(Array.from({ length: 10 }, (_, i) => h.person(`crowd-${i}`)));
    const answers = await Promise.all(people.map((person) => h.api(person, 'POST', '/v1/requests', stagingRequest)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
  });

  it('does not approve a second grant for a request left open beside another', async () => {
    // Two waiting requests of one person for one system, as a database from before the rule
    // may hold them.
    const jack = await h.person('jack');
    const first = await h.api(jack, 'POST', '/v1/requests', stagingRequest);
    const row = await h.server.store.db.selectFrom('requests').selectAll().where('id', '=', first.body.request.id).executeTakeFirstOrThrow();
    const twin = { ...row, id: newRowId() };
    await h.server.store.db.insertInto('requests').values(twin).execute();

    expect((await h.api('bob', 'POST', `/v1/requests/${first.body.request.id}/reviews`, { decision: 'approve' })).body.request.state).toBe('active');
    const second = await h.api('bob', 'POST', `/v1/requests/${twin.id}/reviews`, { decision: 'approve' });
    expect(second.status).toBe(409);
    expect(second.body).toEqual({ error: 'grant_active', message: 'jack already has access to Staging database for another 15 min; this request can be approved once that grant is over.' });
    const left = await h.api(jack, 'GET', `/v1/requests/${twin.id}`);
    expect(left.body.request).toMatchObject({ state: 'pending', reviews: [], grantId: null });
  });
});
