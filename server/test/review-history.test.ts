import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startHarness, type Harness } from './harness';
import { openStream } from './sse-client';

const DAY = 24 * 60 * 60_000;
const stagingRequest = { systemId: 'staging-db', durationSeconds: 900, reason: 'migrate' };

describe.each(ENGINES)("a requester's recent history, for reviewers, on %s", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine });
  });
  afterAll(async () => h?.close());

  const askAndCancel = async (user: string, body: object) => {
    const { body: created } = await h.api(user, 'POST', '/v1/requests', body);
    if (created.grant) await h.api(user, 'POST', `/v1/grants/${created.grant.id}/release`);
    else await h.api(user, 'POST', `/v1/requests/${created.request.id}/cancel`);
  };

  it('counts the requests for the same system in the 30 days before, in the listing, the event and the request', async () => {
    const kim = await h.person('kim');
    await askAndCancel(kim, stagingRequest); // 31 days before: too old to count
    h.clock.advance(20 * DAY);
    await askAndCancel(kim, stagingRequest);
    h.clock.advance(9 * DAY);
    await askAndCancel(kim, stagingRequest);
    h.clock.advance(DAY);
    await askAndCancel(kim, { systemId: 'demo-sandbox', durationSeconds: 300 }); // another system
    await askAndCancel(await h.person('lee'), stagingRequest); // another person
    h.clock.advance(DAY);

    const bob = await openStream(`${h.server.url}/v1/events`, await h.token('bob'));
    try {
      const created = await h.api(kim, 'POST', '/v1/requests', stagingRequest);
      const id = created.body.request.id;
      const event = await bob.waitFor((e) => e.event.type === 'review.requested' && e.event.request.id === id);
      expect(event.event.type === 'review.requested' && event.event.request.recentRequests).toBe(2);

      const inbox = await h.api('bob', 'GET', '/v1/requests?scope=review');
      expect(inbox.body.requests.find((r: { id: string }) => r.id === id).recentRequests).toBe(2);
      expect((await h.api('bob', 'GET', `/v1/requests/${id}`)).body.request.recentRequests).toBe(2);

      // The requester sees their request as it is.
      expect(created.body.request.recentRequests).toBeUndefined();
      expect((await h.api(kim, 'GET', `/v1/requests/${id}`)).body.request.recentRequests).toBeUndefined();
      expect((await h.api(kim, 'GET', '/v1/requests?scope=mine')).body.requests.every((r: object) => !('recentRequests' in r))).toBe(true);
    } finally {
      bob.close();
    }
  });

  it('keeps it on a request that still waits after one of two approvals', async () => {
    const max = await h.person('max');
    const payments = { systemId: 'payments-admin', durationSeconds: 900, reason: 'refund #7' };
    await askAndCancel(max, payments);
    h.clock.advance(60_000);
    const carol = await openStream(`${h.server.url}/v1/events`, await h.token('carol'));
    try {
      const { body } = await h.api(max, 'POST', '/v1/requests', payments);
      const first = await h.api('bob', 'POST', `/v1/requests/${body.request.id}/reviews`, { decision: 'approve' });
      expect(first.body.request).toMatchObject({ state: 'pending', recentRequests: 1 });
      const updated = await carol.waitFor((e) => e.event.type === 'review.updated' && e.event.request.id === body.request.id);
      expect(updated.event.type === 'review.updated' && updated.event.request.recentRequests).toBe(1);
    } finally {
      carol.close();
    }
  });
});
