import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startHarness, type Harness } from './harness';
import { openStream } from './sse-client';

const prodRequest = { systemId: 'prod-db', durationSeconds: 900, reason: 'fix', ticket: 'OPS-7' };

describe.each(ENGINES)('live events on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine, sseHeartbeatMs: 200 });
  });
  afterAll(async () => h?.close());
  const stream = async (user: string, lastEventId?: string) => openStream(`${h.server.url}/v1/events`, await h.token(user), lastEventId);

  it('tells reviewers of a new request at once, and the requester of the approval and grant', async () => {
    const alice = await stream('alice');
    const bob = await stream('bob');
    const dana = await stream('dana');
    try {
      const { body } = await h.api('alice', 'POST', '/v1/requests', prodRequest);
      const id = body.request.id;
      const arrived = await bob.waitFor((e) => e.event.type === 'review.requested' && e.event.request.id === id, 1000);
      expect(arrived.event.type).toBe('review.requested');

      const started = performance.now();
      await h.api('bob', 'POST', `/v1/requests/${id}/reviews`, { decision: 'approve' });
      await alice.waitFor((e) => e.event.type === 'request.updated' && e.event.request.id === id && e.event.request.state === 'approved', 1000);
      const activated = await alice.waitFor((e) => e.event.type === 'grant.activated' && e.event.grant.requestId === id, 1000);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(JSON.stringify(activated)).not.toMatch(/stint_demo_/); // events carry no secret

      // The requester never gets "review" events for their own request; bystanders get nothing.
      expect(alice.events.some((e) => e.event.type === 'review.requested')).toBe(false);
      expect(dana.events.filter((e) => JSON.stringify(e).includes(id))).toEqual([]);
      await bob.waitFor(() => bob.comments.length > 0 || false, 1000).catch(() => undefined);
      expect(bob.comments.map((c) => c.trim())).toContain('heartbeat');
    } finally {
      alice.close();
      bob.close();
      dana.close();
    }
  });

  it('resumes from Last-Event-ID with exactly what was missed, in order', async () => {
    const first = await stream('alice');
    const a = await h.api('alice', 'POST', '/v1/requests', prodRequest);
    const seen = await first.waitFor(() => false, 300).catch(() => first.events.at(-1));
    first.close();
    const before = await stream('alice');
    // Let a few things happen while alice is away.
    const b = await h.api('alice', 'POST', '/v1/requests', prodRequest);
    await h.api('bob', 'POST', `/v1/requests/${b.body.request.id}/reviews`, { decision: 'deny' });
    await h.api('alice', 'POST', `/v1/requests/${a.body.request.id}/cancel`);
    await before.waitFor((e) => e.event.type === 'request.updated' && e.event.request.state === 'cancelled');
    before.close();
    const missed = before.events.map((e) => e.id);
    expect(missed.length).toBeGreaterThanOrEqual(2);

    const lastSeen = seen?.id ?? '0';
    const resumed = await stream('alice', lastSeen);
    try {
      await resumed.waitFor((e) => e.id === missed.at(-1));
      const ids = resumed.events.map((e) => Number(e.id));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.every((id) => id > Number(lastSeen))).toBe(true);
      expect(resumed.events.map((e) => e.id)).toEqual(expect.arrayContaining(missed));
    } finally {
      resumed.close();
    }
  });

  it('refuses the stream without a token', async () => {
    const response = await fetch(`${h.server.url}/v1/events`);
    expect(response.status).toBe(401);
  });
});

describe('events across replicas (PostgreSQL)', () => {
  it('reaches a client on one replica when the change happens on another', async () => {
    const h = await startHarness({ engine: 'postgres' });
    try {
      const replica = await h.replica();
      const onReplica = await openStream(`${replica.url}/v1/events`, await h.token('bob'));
      const { body } = await h.api('alice', 'POST', '/v1/requests', prodRequest);
      const got = await onReplica.waitFor((e) => e.event.type === 'review.requested' && e.event.request.id === body.request.id, 2000);
      expect(got.event.type).toBe('review.requested');
      onReplica.close();
    } finally {
      await h.close();
    }
  });
});
