import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startHarness, type Harness } from './harness';
import { openStream } from './sse-client';
import { createDatabase, startPostgresCluster } from '../../test-support/postgres';

const prodRequest = { systemId: 'prod-db', durationSeconds: 900, reason: 'fix', ticket: 'OPS-7' };
const stagingRequest = { systemId: 'staging-db', durationSeconds: 900, reason: 'fix' };

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
    // Erin (alice holds prod-db since the test above) really receives an event (bob denies her
    // request) and remembers its id.
    const erin = await h.person('erin');
    const first = await stream(erin);
    const a = await h.api(erin, 'POST', '/v1/requests', prodRequest);
    const c = await h.api(erin, 'POST', '/v1/requests', stagingRequest);
    await h.api('bob', 'POST', `/v1/requests/${c.body.request.id}/reviews`, { decision: 'deny' });
    const seen = await first.waitFor((e) => e.event.type === 'request.updated' && e.event.request.id === c.body.request.id && e.event.request.state === 'denied');
    first.close();
    expect(Number(seen.id)).toBeGreaterThan(0);

    // Things happen while she is away (a witness stream records what she should get).
    const witness = await stream(erin);
    const b = await h.api(erin, 'POST', '/v1/requests', stagingRequest);
    await h.api('bob', 'POST', `/v1/requests/${b.body.request.id}/reviews`, { decision: 'deny' });
    await h.api(erin, 'POST', `/v1/requests/${a.body.request.id}/cancel`);
    await witness.waitFor((e) => e.event.type === 'request.updated' && e.event.request.id === a.body.request.id && e.event.request.state === 'cancelled');
    witness.close();
    const missed = witness.events.map((e) => e.id);
    expect(missed.length).toBeGreaterThanOrEqual(2);

    const resumed = await stream(erin, seen.id);
    try {
      await resumed.waitFor((e) => e.id === missed.at(-1));
      // Exactly the missed events, in order: nothing she had already seen is replayed.
      expect(resumed.events.map((e) => e.id)).toEqual(missed);
      expect(resumed.events.some((e) => Number(e.id) <= Number(seen.id))).toBe(false);
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
    // Polling slowed to a minute: within the 2 s below only LISTEN/NOTIFY can deliver.
    const h = await startHarness({ engine: 'postgres', eventPollMs: 60_000 });
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

  it('comes back after a PostgreSQL outage longer than a second, without a restart', async () => {
    const cluster = await startPostgresCluster({ name: 'listen-outage' });
    const database = await createDatabase(cluster.adminUrl);
    const h = await startHarness({ engine: 'postgres', database: database.url, eventPollMs: 60_000 });
    try {
      const replica = await h.replica();
      const onReplica = await openStream(`${replica.url}/v1/events`, await h.token('bob'));
      await cluster.stop();
      await new Promise((r) => setTimeout(r, 3000)); // long enough for a reconnect attempt or two to fail
      await cluster.start();
      // Polling is a minute away: only a LISTEN connection made again can deliver this in time.
      let created: { status: number; body: { request: { id: string } } } | undefined;
      for (let i = 0; i < 50 && created?.status !== 201; i++) {
        created = await h.api('alice', 'POST', '/v1/requests', prodRequest);
        if (created.status !== 201) await new Promise((r) => setTimeout(r, 200));
      }
      expect(created?.status).toBe(201);
      const got = await onReplica.waitFor((e) => e.event.type === 'review.requested' && e.event.request.id === created!.body.request.id, 15_000);
      expect(got.event.type).toBe('review.requested');
      onReplica.close();
    } finally {
      await h.close();
      await cluster.destroy();
    }
  }, 90_000);
});
