import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditStreamResponse, InsightsResponse, type AuditEntry } from '@stint/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../src/config/schema';
import { computeInsights, systemFacts } from '../src/insights';
import { FOLLOW_MS } from '../src/insights/load';
import { seedInput, seedStore, SEED_ROWS, TO } from '../src/insights/seed.fixture';
import { ENGINES, startHarness, type Harness } from './harness';

const PERIOD = 'from=2026-11-02&to=2026-11-05';

describe.each(ENGINES)('GET /v1/insights and /v1/audit/stream on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine, config: (c) => ({ ...c, rateLimit: { perMinute: 0 } }) });
    await seedStore(h.server.store);
  });
  afterAll(async () => h?.close());

  it('answers auditors and admins only', async () => {
    expect((await h.api('alice', 'GET', `/v1/insights?${PERIOD}`)).status).toBe(403);
    expect((await h.api('alice', 'GET', `/v1/insights?${PERIOD}`)).body).toEqual({ error: 'not_an_auditor', message: expect.stringMatching(/auditors and admins/) });
    expect((await h.api(null, 'GET', `/v1/insights?${PERIOD}`)).status).toBe(401);
    expect((await h.api(await h.person('aud-only', ['auditors']), 'GET', `/v1/insights?${PERIOD}`)).status).toBe(200);
    expect((await h.api(await h.person('admin-only', ['stint-admins']), 'GET', `/v1/insights?${PERIOD}`)).status).toBe(200);
  });

  it('computes from the store what the pure function computes from the same rows', async () => {
    const response = await h.api('dana', 'GET', `/v1/insights?${PERIOD}`);
    expect(response.status).toBe(200);
    const body = InsightsResponse.parse(response.body);
    const now = h.clock.ms;
    // Followed to now (at most 31 days past the period), so P12's end after the period counts here;
    // the systems' limits are the dev catalog's, which the server runs with.
    const expected = computeInsights(seedInput({ followedUntil: Math.max(TO, Math.min(now, TO + FOLLOW_MS)), generatedAt: now, systems: systemFacts(h.config) }));
    // Row 1 (Q0, asked the evening before) lies before the scan's start: it is not even read.
    expect(SEED_ROWS[0]!.targetId).toBe('Q0');
    expect(body).toEqual({ ...expected, period: { ...expected.period, auditRows: { read: SEED_ROWS.length - 1, firstSeq: 2, lastSeq: SEED_ROWS.length } } });
    expect(body.grantUse.find((g) => g.systemId === 'prod-db')).toMatchObject({ ranToDeadline: { count: 7 }, stillActive: { count: 0 } });
    expect(body.suggestions.map((s) => s.kind)).toContain('auto_approve_candidate');

    const sandbox = await h.api('dana', 'GET', `/v1/insights?${PERIOD}&system=sandbox&group=eng`);
    expect(sandbox.body.outcomes.map((o: { systemId: string }) => o.systemId)).toEqual(['sandbox']);
  });

  it('refuses bad parameters with 400 and says which', async () => {
    const cases: [string, RegExp][] = [
      ['from=yesterday', /from: give a date \(2026-11-01\) or a date and time/],
      ['from=2026-11-05&to=2026-11-02', /from \(2026-11-05T00:00:00.000Z\) must be before to/],
      ['from=2024-01-01&to=2026-01-01', /the period is 731 days; ask for at most 366/],
      ['system=Prod_DB', /system: a system id is lowercase letters/],
      ['group=', /group/],
      ['colour=red', /colour/],
    ];
    for (const [query, message] of cases) {
      const response = await h.api('dana', 'GET', `/v1/insights?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.message, query).toMatch(message);
    }
  });

  it('pages the audit log for a SIEM with a cursor', async () => {
    const first = await h.api('dana', 'GET', '/v1/audit/stream?after=0&limit=100');
    expect(first.status).toBe(200);
    const page = AuditStreamResponse.parse(first.body);
    expect(page.entries.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(page).toMatchObject({ next: 100, more: true });
    const rest = AuditStreamResponse.parse((await h.api('dana', 'GET', `/v1/audit/stream?after=${page.next}&limit=5000`)).body);
    expect(rest.entries[0]!.seq).toBe(101);
    expect(rest.more).toBe(false);
    const last = rest.next;
    expect((await h.api('dana', 'GET', `/v1/audit/stream?after=${last}`)).body).toEqual({ entries: [], next: last, more: false });
    // The same rows as the audit log's own listing.
    expect(page.entries.slice(0, 10)).toEqual((await h.api('dana', 'GET', '/v1/audit?limit=10')).body.entries);

    const lines = await h.api('dana', 'GET', '/v1/audit/stream?after=10&limit=3&format=jsonl');
    expect(lines.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    expect(lines.headers.get('stint-next-after')).toBe('13');
    expect(lines.headers.get('stint-more')).toBe('true');
    expect((lines.body as string).trim().split('\n').map((l) => (JSON.parse(l) as AuditEntry).seq)).toEqual([11, 12, 13]);

    expect((await h.api('alice', 'GET', '/v1/audit/stream')).status).toBe(403);
    const bad = await h.api('dana', 'GET', '/v1/audit/stream?after=-1&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/after: .*; limit: /);
  });
});

describe('the audit sink in a running server', () => {
  it('streams rows as they are written and goes on after a restart', async () => {
    const received: number[] = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        for (const line of body.trim().split('\n')) received.push((JSON.parse(line) as AuditEntry).seq);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`;
    // auditSink is read by the server whether or not the config schema lists it yet.
    const withSink = (c: ServerConfig) => ({ ...c, auditSink: { type: 'http', url, pollMs: 50 } }) as ServerConfig;
    const h = await startHarness({ engine: 'sqlite', config: withSink });
    const until = async (n: number) => {
      for (let i = 0; i < 200 && !received.includes(n); i++) await new Promise((r) => setTimeout(r, 25));
      expect(received).toContain(n);
    };
    try {
      await h.api(await h.person('p1'), 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
      const head = async () => Number((await h.server.store.db.selectFrom('audit').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow()).seq);
      const before = await head();
      await until(before);
      await h.restart();
      await h.api(await h.person('p2'), 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
      const after = await head();
      expect(after).toBeGreaterThan(before);
      await until(after);
      expect([...new Set(received)]).toEqual(Array.from({ length: after }, (_, i) => i + 1));

      // A reload with an invalid sink is refused whole; one with other settings carries on from the cursor.
      const base = h.config;
      expect(() => h.server.reload({ ...base, auditSink: { type: 'http', url: 'http://siem.example/' } } as ServerConfig)).toThrow(/auditSink: url: must be an https/);
      h.server.reload({ ...base, auditSink: { type: 'http', url, pollMs: 60, batchSize: 1 } } as ServerConfig);
      await h.api(await h.person('p3'), 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
      const last = await head();
      await until(last);
      expect([...new Set(received)]).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    } finally {
      await h.close();
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  });
});
