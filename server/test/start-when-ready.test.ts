// Start when ready (issue 21): an approved grant waits for its requester, or for the start time
// the request named; the countdown begins at start; one not started in time ends unstarted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, MINUTE, startHarness, type Harness } from './harness';

const HOUR = 60 * MINUTE;
const ask = { systemId: 'staging-db', durationSeconds: 900, reason: 'migrate the orders table' };

describe.each(ENGINES)('start when ready on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    // staging-db: approved grants wait up to 8 h to be started.
    h = await startHarness({ engine, config: (c) => ({ ...c, systems: c.systems.map((s) => (s.id === 'staging-db' ? { ...s, startWindow: 8 * 3600 } : s)) }) });
  });
  afterAll(async () => h?.close());
  const grantOf = async (user: string, id: string) => (await h.api(user, 'GET', '/v1/grants?limit=100')).body.grants.find((g: any) => g.id === id);
  const audit = async (targetId: string) => (await h.api('dana', 'GET', '/v1/audit?limit=1000')).body.entries.filter((e: any) => e.targetId === targetId).map((e: any) => e.action);

  it('waits after approval without a credential; the countdown starts when its requester starts it', async () => {
    const ivy = await h.person('ivy');
    const created = await h.api(ivy, 'POST', '/v1/requests', ask);
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(approved.body.request.state).toBe('approved');
    const ready = approved.body.grant;
    expect(ready).toMatchObject({ state: 'ready', startAt: null });
    expect(Date.parse(ready.startBy) - h.clock.ms).toBe(8 * HOUR);
    // Nothing to read yet, and it counts as this person's access to the system.
    expect((await h.api(ivy, 'GET', `/v1/grants/${ready.id}/credential`)).body.error).toBe('not_started');
    const again = await h.api(ivy, 'POST', '/v1/requests', ask);
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('grant_ready');

    // In a meeting for three hours: the window was not spent meanwhile.
    h.clock.advance(3 * HOUR);
    const started = await h.api(ivy, 'POST', `/v1/grants/${ready.id}/start`);
    expect(started.status).toBe(200);
    expect(started.body.grant.state).toBe('active');
    expect(Date.parse(started.body.grant.startsAt)).toBe(h.clock.ms);
    expect(Date.parse(started.body.grant.expiresAt)).toBe(h.clock.ms + 900_000);
    expect(started.body.request.state).toBe('active');
    expect((await h.api(ivy, 'GET', `/v1/grants/${ready.id}/credential`)).status).toBe(200);
    expect(await audit(ready.id)).toEqual(expect.arrayContaining(['grant.ready', 'grant.started']));
    // Once is enough; and only the grantee may start it.
    expect((await h.api(ivy, 'POST', `/v1/grants/${ready.id}/start`)).body.error).toBe('not_ready');
    await h.api(ivy, 'POST', `/v1/grants/${ready.id}/release`);
  });

  it('only its grantee may start it', async () => {
    const jo = await h.person('jo');
    const created = await h.api(jo, 'POST', '/v1/requests', ask);
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    const someoneElse = await h.api(await h.person('kit'), 'POST', `/v1/grants/${approved.body.grant.id}/start`);
    expect(someoneElse.status).toBe(404);
    expect((await grantOf(jo, approved.body.grant.id)).state).toBe('ready');
    // Released before it started: the approval ends, nothing was ever issued.
    const released = await h.api(jo, 'POST', `/v1/grants/${approved.body.grant.id}/release`);
    expect(released.body.grant).toMatchObject({ state: 'ended', endReason: 'released' });
    expect((await h.api(jo, 'GET', `/v1/requests/${created.body.request.id}`)).body.request.state).toBe('revoked');
  });

  it('ends unstarted at the end of its start window, with an audit row, and the requester is told', async () => {
    const lou = await h.person('lou');
    const created = await h.api(lou, 'POST', '/v1/requests', ask);
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    const id = approved.body.grant.id;
    h.clock.advance(8 * HOUR - 1000);
    await h.server.sweeper.runOnce();
    expect((await grantOf(lou, id)).state).toBe('ready');
    h.clock.advance(1000);
    await h.server.sweeper.runOnce();
    expect((await grantOf(lou, id))).toMatchObject({ state: 'ended', endReason: 'unstarted' });
    expect((await h.api(lou, 'GET', `/v1/requests/${created.body.request.id}`)).body.request.state).toBe('expired');
    expect(await audit(id)).toContain('grant.unstarted');
    const late = await h.api(lou, 'POST', `/v1/grants/${id}/start`);
    expect(late.status).toBe(409);
    // The person may ask again.
    expect((await h.api(lou, 'POST', '/v1/requests', ask)).status).toBe(201);
  });

  it('approved ahead for a named start time (a maintenance window), it starts by itself then', async () => {
    const max = await h.person('max');
    const startAt = new Date(h.clock.ms + 2 * HOUR).toISOString();
    const created = await h.api(max, 'POST', '/v1/requests', { ...ask, systemId: 'prod-db', ticket: 'OPS-9', startAt });
    expect(created.body.request.state).toBe('pending');
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(approved.body.grant).toMatchObject({ state: 'ready', startAt, startBy: null });
    // It is for then, not now.
    expect((await h.api(max, 'POST', `/v1/grants/${approved.body.grant.id}/start`)).body.error).toBe('scheduled');
    // The sweeper comes to it a little late (as a real one does): the window stays the one approved.
    h.clock.advance(2 * HOUR + 7_000);
    await h.server.sweeper.runOnce();
    const grant = (await grantOf(max, approved.body.grant.id));
    expect(grant.state).toBe('active');
    expect(grant.startsAt).toBe(startAt);
    expect(Date.parse(grant.expiresAt)).toBe(Date.parse(startAt) + 900_000);
    await h.api(max, 'POST', `/v1/grants/${grant.id}/release`);
  });

  it('refuses a start time in the past, more than 7 days ahead, or on a break-glass request', async () => {
    const ned = await h.person('ned');
    const past = await h.api(ned, 'POST', '/v1/requests', { ...ask, startAt: new Date(h.clock.ms - MINUTE).toISOString() });
    expect(past.status).toBe(422);
    expect(past.body.error).toBe('start_at_refused');
    const far = await h.api(ned, 'POST', '/v1/requests', { ...ask, startAt: new Date(h.clock.ms + 8 * 24 * HOUR).toISOString() });
    expect(far.body.message).toBe('Name a start time within 7 days; ask nearer the time for later windows.');
    const glass = await h.api('bob', 'POST', '/v1/requests', { ...ask, systemId: 'prod-db', ticket: 'INC-1', breakGlass: true, startAt: new Date(h.clock.ms + HOUR).toISOString() });
    expect(glass.body.error).toBe('start_at_refused');
  });
});
