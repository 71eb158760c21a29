import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, forgeToken, startHarness, type Harness } from './harness';
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

  it('survives a replay that fails while events arrive: the stream ends, the server keeps serving', async () => {
    const watching = await stream('bob');
    const created = await h.api('alice', 'POST', '/v1/requests', stagingRequest);
    const first = await watching.waitFor((e) => e.event.type === 'review.requested' && e.event.request.id === created.body.request.id);
    watching.close();
    await h.api('alice', 'POST', `/v1/requests/${created.body.request.id}/cancel`);
    // The event log cannot be read for a moment (the database went away mid-replay), and a
    // request is committed meanwhile, so the stream holds an event when its replay fails.
    const store = h.server.store as { reader: unknown };
    const reader = store.reader;
    const failing: unknown = new Proxy({}, {
      get: (_target, name) => (name === 'execute' ? () => new Promise((_, reject) => setTimeout(() => reject(new Error('connection terminated')), 500)) : () => failing),
    });
    store.reader = failing;
    try {
      const bob = await stream('bob', first.id);
      const meanwhile = await h.api(await h.person(`replay-${engine}`), 'POST', '/v1/requests', stagingRequest);
      expect(meanwhile.status).toBe(201);
      await new Promise((r) => setTimeout(r, 900)); // the replay fails; heartbeats are due every 200 ms
      bob.close();
    } finally {
      store.reader = reader;
    }
    // A write after the stream's end would have been an unhandled error: the process would be gone.
    expect((await h.api(null, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
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

  it('comes back after a 30 s PostgreSQL outage, without a restart: cross-replica events under 200 ms again within 10 s, and readyz and metrics say so meanwhile', async () => {
    const cluster = await startPostgresCluster({ name: 'listen-outage' });
    const database = await createDatabase(cluster.adminUrl);
    const h = await startHarness({ engine: 'postgres', database: database.url, eventPollMs: 60_000 });
    const listenerUp = async (url: string) => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      return /stint_background_connection_up\{connection="event-listener"\} (\d)/.exec(metrics)?.[1];
    };
    try {
      const replica = await h.replica();
      const bob = await h.token('bob');
      const onReplica = await openStream(`${replica.url}/v1/events`, bob);
      expect(((await (await fetch(`${replica.url}/readyz`)).json()) as any).checks.eventListener).toBe(true);
      expect(await listenerUp(replica.url)).toBe('1');
      await cluster.stop();
      await new Promise((r) => setTimeout(r, 30_000));
      const down = (await (await fetch(`${replica.url}/readyz`)).json()) as any;
      expect(down.checks.eventListener).toBe(false);
      expect(down.detail.eventListener).toMatch(/^reconnecting for \d+ s; other replicas' events arrive by the 60 s poll meanwhile$/);
      expect(await listenerUp(replica.url)).toBe('0');
      await cluster.start();
      const back = Date.now();
      // Polling is a minute away: only a LISTEN connection made again delivers within 200 ms.
      let latencyMs = Infinity;
      while (latencyMs >= 200 && Date.now() - back < 10_000) {
        const sent = Date.now();
        const created = await h.api('alice', 'POST', '/v1/requests', { ...prodRequest, reason: `after the outage ${sent}` });
        if (created.status !== 201) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        await onReplica.waitFor((e) => e.event.type === 'review.requested' && e.event.request.id === created.body.request.id, 15_000);
        latencyMs = Date.now() - sent;
        await h.api('alice', 'POST', `/v1/requests/${created.body.request.id}/cancel`);
      }
      console.log(`[listen-outage] cross-replica event in ${latencyMs} ms, ${Date.now() - back} ms after PostgreSQL came back`);
      expect(latencyMs).toBeLessThan(200);
      expect(((await (await fetch(`${replica.url}/readyz`)).json()) as any).checks.eventListener).toBe(true);
      expect(await listenerUp(replica.url)).toBe('1');
      onReplica.close();
    } finally {
      await h.close();
      await cluster.destroy();
    }
  }, 120_000);
});

describe('a stream lives as long as its token', () => {
  it('ends at the token expiry with a "reauthenticate" event; an approver taken out of the group hears no more reviews on the next token', async () => {
    const h = await startHarness({ engine: 'sqlite' });
    try {
      const issuer = h.idp.issuer;
      const token = (groups: string[], seconds: number) => forgeToken(h.idpDataDir, issuer, { groups, name: 'Erin' }, { sub: 'erin', exp: Math.floor(Date.now() / 1000) + seconds });
      // Erin approves for sre-leads, with a token that expires in 3 s.
      const first = await openStream(`${h.server.url}/v1/events`, await token(['engineering', 'sre-leads'], 3));
      const { body } = await h.api('alice', 'POST', '/v1/requests', prodRequest);
      await first.waitFor((e) => e.event.type === 'review.requested' && e.event.request.id === body.request.id);
      await first.ended; // the server ends it at the expiry, without the client doing anything
      expect(first.reauthenticate).toEqual([{ reason: 'token_expired', message: 'Your access token expired; reconnect with a fresh one.' }]);

      // Meanwhile the IdP took her out of sre-leads: her next token says so, and she hears no more reviews.
      const second = await openStream(`${h.server.url}/v1/events`, await token(['engineering'], 600));
      const again = await h.api(await h.person('frank'), 'POST', '/v1/requests', prodRequest);
      expect(again.status).toBe(201);
      const bob = await openStream(`${h.server.url}/v1/events`, await h.token('bob'), '0');
      await bob.waitFor((e) => e.event.type === 'review.requested' && e.event.request.id === again.body.request.id); // it was sent
      await new Promise((r) => setTimeout(r, 300));
      expect(second.events.filter((e) => e.event.type === 'review.requested')).toEqual([]);
      for (const s of [second, bob]) s.close();
    } finally {
      await h.close();
    }
  }, 30_000);
});
