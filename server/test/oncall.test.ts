// On-call auto-approval (issue 21): someone on call right now for a system's schedule is approved
// without review, with an audit row naming the source, schedule and shift. The sources are
// local HTTP doubles that follow PagerDuty's and Opsgenie's documented requests and answers, and
// a real rota file; whatever goes wrong with a source, the request waits for a human.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ServerConfig } from '../src/config/schema';
import { ENGINES, forgeToken, startHarness, type Harness } from './harness';

interface Seen {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

/** How a double misbehaves, when it does. */
type Trouble = null | 'http-500' | 'not-json' | 'wrong-shape' | 'hang';

/** A local HTTP server that records what it was asked and answers as `answer` says. */
abstract class VendorDouble {
  readonly seen: Seen[] = [];
  trouble: Trouble = null;
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://double');
      this.seen.push({ path: url.pathname, query: url.searchParams, headers: req.headers });
      if (this.trouble === 'hang') {
        this.hanging.add(res);
        return;
      }
      if (this.trouble === 'http-500') return send(res, 500, { error: 'internal' });
      if (this.trouble === 'not-json') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
        return;
      }
      const [status, body] = this.answer(url, req.headers);
      send(res, status, body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  protected abstract answer(url: URL, headers: IncomingMessage['headers']): [number, unknown];

  reset() {
    this.seen.length = 0;
    this.trouble = null;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  async close() {
    this.reset();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

interface PagerDutyUser {
  id: string;
  name: string;
  email: string;
}

/**
 * PagerDuty REST API v2, `GET /oncalls`: token auth (`Authorization: Token token=...`), the v2
 * Accept header, `schedule_ids[]` and `since`/`until` filters (an on-call overlapping the range is
 * included; both default to now), and user references unless `include[]=users` asks for users.
 */
class PagerDutyDouble extends VendorDouble {
  /** Per schedule id: its on-calls. */
  oncalls = new Map<string, { user: PagerDutyUser; start: string | null; end: string | null; level: number }[]>();
  constructor(private readonly token: string) {
    super();
  }

  protected answer(url: URL, headers: IncomingMessage['headers']): [number, unknown] {
    if (headers.authorization !== `Token token=${this.token}`) return [401, { error: { message: 'Unauthorized', code: 2006 } }];
    if (url.pathname !== '/oncalls') return [404, { error: { message: 'Not Found', code: 2100 } }];
    const schedules = url.searchParams.getAll('schedule_ids[]');
    const withUsers = url.searchParams.getAll('include[]').includes('users');
    const now = Date.now();
    const since = Date.parse(url.searchParams.get('since') ?? new Date(now).toISOString());
    const until = Date.parse(url.searchParams.get('until') ?? new Date(now).toISOString());
    if (until < since) return [400, { error: { message: 'Invalid Input Provided', code: 2001, errors: ['until cannot be before since'] } }];
    const oncalls = [...this.oncalls.entries()]
      .filter(([schedule]) => schedules.length === 0 || schedules.includes(schedule))
      .flatMap(([schedule, entries]) =>
        entries
          .filter((e) => (e.start === null || Date.parse(e.start) <= until) && (e.end === null || Date.parse(e.end) >= since))
          .map((e) => ({
            escalation_policy: { id: 'PEP1', type: 'escalation_policy_reference', summary: 'Platform', self: 'https://api.pagerduty.com/escalation_policies/PEP1', html_url: 'https://acme.pagerduty.com/escalation_policies/PEP1' },
            escalation_level: e.level,
            schedule: { id: schedule, type: 'schedule_reference', summary: 'Primary', self: `https://api.pagerduty.com/schedules/${schedule}`, html_url: `https://acme.pagerduty.com/schedules/${schedule}` },
            user:
              withUsers && this.trouble !== 'wrong-shape'
                ? { id: e.user.id, type: 'user', name: e.user.name, email: e.user.email, summary: e.user.name, time_zone: 'Europe/London', self: `https://api.pagerduty.com/users/${e.user.id}`, html_url: `https://acme.pagerduty.com/users/${e.user.id}` }
                : { id: e.user.id, type: 'user_reference', summary: e.user.name, self: `https://api.pagerduty.com/users/${e.user.id}`, html_url: `https://acme.pagerduty.com/users/${e.user.id}` },
            start: e.start,
            end: e.end,
          })),
      );
    return [200, { oncalls, limit: Number(url.searchParams.get('limit') ?? 25), offset: 0, more: false, total: null }];
  }
}

/**
 * Opsgenie Who-is-on-call API, `GET /v2/schedules/{identifier}/on-calls`: `GenieKey` auth,
 * `scheduleIdentifierType` (id by default), `flat=true` for the usernames alone.
 */
class OpsgenieDouble extends VendorDouble {
  /** Per schedule id: its name and the usernames on call now. */
  schedules = new Map<string, { name: string; onCall: string[] }>();
  constructor(private readonly apiKey: string) {
    super();
  }

  protected answer(url: URL, headers: IncomingMessage['headers']): [number, unknown] {
    const meta = { took: 0.01, requestId: 'c1a2b3d4-0000-4000-8000-000000000000' };
    if (headers.authorization !== `GenieKey ${this.apiKey}`) return [401, { message: 'Could not authenticate', ...meta }];
    const match = /^\/v2\/schedules\/([^/]+)\/on-calls$/.exec(url.pathname);
    if (!match) return [404, { message: 'Not found', ...meta }];
    const identifier = decodeURIComponent(match[1]!);
    const byName = url.searchParams.get('scheduleIdentifierType') === 'name';
    const entry = [...this.schedules.entries()].find(([id, s]) => (byName ? s.name : id) === identifier);
    if (!entry) return [404, { message: `Schedule with identifier [${identifier}] does not exist`, ...meta }];
    const [id, schedule] = entry;
    const parent = { id, name: schedule.name, enabled: true };
    if (this.trouble === 'wrong-shape') return [200, { data: { _parent: parent, onCallParticipants: schedule.onCall }, ...meta }];
    if (url.searchParams.get('flat') === 'true') return [200, { data: { _parent: parent, onCallRecipients: schedule.onCall }, ...meta }];
    return [200, { data: { _parent: parent, onCallParticipants: schedule.onCall.map((u) => ({ id: `id-${u}`, name: u, type: 'user' })) }, ...meta }];
  }
}

/** A rota served over HTTP: the `url` source. */
class RotaDouble extends VendorDouble {
  rota: unknown = { schedules: {} };
  protected answer(_url: URL, headers: IncomingMessage['headers']): [number, unknown] {
    if (headers.authorization !== 'Bearer rota-token') return [401, { error: 'unauthorized' }];
    return [200, this.rota];
  }
}

const system = (id: string, autoApprove: Record<string, unknown>) => ({
  id,
  name: id,
  provider: { type: 'demo', settings: { envVar: `${id.toUpperCase().replace(/-/g, '_')}_TOKEN` } },
  durations: { presets: ['15m', '1h'], max: '4h' },
  requesters: ['engineering', 'sre-leads'],
  approvers: ['sre-leads'],
  approvalsRequired: 1,
  autoApprove,
  justification: 'optional',
});

const HOUR = 3600_000;

describe.each(ENGINES)('on-call auto-approval on %s', (engine) => {
  let h: Harness;
  const pagerduty = new PagerDutyDouble('pd-secret');
  const opsgenie = new OpsgenieDouble('og-secret');
  const rotaUrl = new RotaDouble();
  let dir: string;
  let rotaFile: string;
  let rotaOrigin: string;
  let people = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stint-oncall-'));
    rotaFile = join(dir, 'oncall.json');
    writeFileSync(join(dir, 'pd.token'), 'pd-secret\n');
    writeFileSync(rotaFile, JSON.stringify({ schedules: {} }));
    process.env.STINT_TEST_OPSGENIE_KEY = 'og-secret';
    process.env.STINT_TEST_ROTA_TOKEN = 'rota-token';
    const [pdUrl, ogUrl, rotaBase] = await Promise.all([pagerduty.start(), opsgenie.start(), rotaUrl.start()]);
    rotaOrigin = rotaBase;
    // A port something listened on a moment ago: nothing answers there now.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const gonePort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    h = await startHarness({
      engine,
      config: (base) =>
        ServerConfig.parse({
          ...base,
          onCall: {
            timeoutMs: 400,
            sources: {
              pagerduty: { type: 'pagerduty', apiUrl: pdUrl, token: { file: join(dir, 'pd.token') } },
              opsgenie: { type: 'opsgenie', apiUrl: ogUrl, apiKey: { env: 'STINT_TEST_OPSGENIE_KEY' } },
              rota: { type: 'file', path: rotaFile },
              'rota-url': { type: 'url', url: `${rotaBase}/oncall.json`, token: { env: 'STINT_TEST_ROTA_TOKEN' } },
              gone: { type: 'pagerduty', apiUrl: `http://127.0.0.1:${gonePort}`, token: { file: join(dir, 'pd.token') } },
            },
          },
          systems: [
            ...base.systems,
            system('pd-db', { onCall: { source: 'pagerduty', schedule: 'PSCHED1', maxDuration: '1h' } }),
            system('og-db', { onCall: { source: 'opsgenie', schedule: '6f2d6c1e-1111-4a6e-9c4b-2d8e5a7b9c01', maxDuration: '1h' } }),
            // Both rules: sre-leads for up to 30m, and whoever is on call, also up to 30m.
            system('rota-db', { groups: ['sre-leads'], maxDuration: '30m', onCall: { source: 'rota', schedule: 'primary' } }),
            system('url-db', { onCall: { source: 'rota-url', schedule: 'primary', maxDuration: '1h' } }),
            system('gone-db', { onCall: { source: 'gone', schedule: 'PSCHED1', maxDuration: '1h' } }),
          ],
        }),
    });
  });
  afterAll(async () => {
    await h?.close();
    await Promise.all([pagerduty.close(), opsgenie.close(), rotaUrl.close()]);
    rmSync(dir, { recursive: true, force: true });
    delete process.env.STINT_TEST_OPSGENIE_KEY;
    delete process.env.STINT_TEST_ROTA_TOKEN;
  });
  beforeEach(() => {
    pagerduty.reset();
    opsgenie.reset();
    rotaUrl.reset();
    // Past every cached answer of the test before.
    h.clock.advance(5 * 60_000);
  });

  const iso = (ms: number) => new Date(ms).toISOString();

  /** A new engineer (one live grant per person and system, so each test has its own people), with an email claim. */
  async function engineer(email: string | null, groups = ['engineering']) {
    const sub = `oncall-${++people}`;
    const token = await forgeToken(h.idpDataDir, h.idp.issuer, { groups, name: sub, ...(email ? { email } : {}) }, { sub, exp: Math.floor(Date.now() / 1000) + 3600 });
    return {
      sub,
      read: async (path: string) => (await fetch(`${h.server.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>,
      ask: async (systemId: string, durationSeconds: number, extra: Record<string, unknown> = {}) => {
        const response = await fetch(`${h.server.url}/v1/requests`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ systemId, durationSeconds, reason: 'incident INC-9', ...extra }),
        });
        return { status: response.status, body: (await response.json()) as any };
      },
    };
  }

  async function createdAudit(requestId: string) {
    const audit = await h.api('dana', 'GET', '/v1/audit?limit=1000');
    return audit.body.entries.find((e: any) => e.action === 'request.created' && e.targetId === requestId);
  }

  describe('PagerDuty', () => {
    it('approves someone on call now, asking as PagerDuty documents, and audits the schedule and shift', async () => {
      const now = h.clock.ms;
      const shift = { start: iso(now - 2 * HOUR), end: iso(now + 6 * HOUR) };
      pagerduty.oncalls.set('PSCHED1', [
        { user: { id: 'PU1', name: 'Olive On-call', email: 'Olive@Example.com' }, ...shift, level: 1 },
        { user: { id: 'PU2', name: 'Sam Second', email: 'sam@example.com' }, start: iso(now - HOUR), end: iso(now + HOUR), level: 2 },
      ]);
      const olive = await engineer('olive@example.com');
      const created = await olive.ask('pd-db', 3600);
      expect(created.status).toBe(201);
      expect(created.body.request).toMatchObject({ state: 'active', approvalsRequired: 0, autoApprovedBy: { kind: 'on-call', source: 'pagerduty', schedule: 'PSCHED1', shiftStart: shift.start, shiftEnd: shift.end } });
      expect(created.body.grant).toMatchObject({ state: 'active' });
      // Kept on the request: every later read (the requester's list, History) says why.
      const later = await olive.read(`/v1/requests/${created.body.request.id}`);
      expect(later.request.autoApprovedBy).toEqual(created.body.request.autoApprovedBy);

      expect(pagerduty.seen).toHaveLength(1);
      const [asked] = pagerduty.seen;
      expect(asked!.path).toBe('/oncalls');
      expect(asked!.query.getAll('schedule_ids[]')).toEqual(['PSCHED1']);
      expect(asked!.query.getAll('include[]')).toEqual(['users']);
      expect(asked!.query.get('since')).toBe(iso(now));
      expect(Date.parse(asked!.query.get('until')!)).toBe(now + 30_000);
      expect(asked!.headers.authorization).toBe('Token token=pd-secret');
      expect(asked!.headers.accept).toBe('application/vnd.pagerduty+json;version=2');

      const row = await createdAudit(created.body.request.id);
      expect(row.actor).toBe(olive.sub);
      expect(row.detail).toMatchObject({ outcome: 'on-call', onCall: { source: 'pagerduty', schedule: 'PSCHED1', result: 'on-call', shift } });
    });

    it('sends someone not on call (or on call for another schedule) to review', async () => {
      const now = h.clock.ms;
      pagerduty.oncalls.set('PSCHED1', [{ user: { id: 'PU1', name: 'Olive', email: 'olive@example.com' }, start: iso(now - HOUR), end: iso(now + HOUR), level: 1 }]);
      pagerduty.oncalls.set('POTHER', [{ user: { id: 'PU3', name: 'Nick', email: 'nick@example.com' }, start: iso(now - HOUR), end: iso(now + HOUR), level: 1 }]);
      const nick = await engineer('nick@example.com');
      const created = await nick.ask('pd-db', 900);
      expect(created.status).toBe(201);
      expect(created.body.request).toMatchObject({ state: 'pending', approvalsRequired: 1 });
      expect(created.body.request.autoApprovedBy).toBeNull();
      const row = await createdAudit(created.body.request.id);
      expect(row.detail).toMatchObject({ outcome: 'review', onCall: { source: 'pagerduty', schedule: 'PSCHED1', result: 'not-on-call' } });
    });

    it('does not approve a shift that has not begun or has ended', async () => {
      const now = h.clock.ms;
      pagerduty.oncalls.set('PSCHED1', [
        { user: { id: 'PU4', name: 'Early', email: 'early@example.com' }, start: iso(now + 10_000), end: iso(now + HOUR), level: 1 },
        { user: { id: 'PU5', name: 'Late', email: 'late@example.com' }, start: iso(now - HOUR), end: iso(now), level: 1 },
      ]);
      expect((await (await engineer('early@example.com')).ask('pd-db', 900)).body.request.state).toBe('pending');
      expect((await (await engineer('late@example.com')).ask('pd-db', 900)).body.request.state).toBe('pending');
    });

    it('sends a request longer than onCall.maxDuration to review without asking PagerDuty', async () => {
      const now = h.clock.ms;
      pagerduty.oncalls.set('PSCHED1', [{ user: { id: 'PU1', name: 'Olive', email: 'olive@example.com' }, start: iso(now - HOUR), end: iso(now + HOUR), level: 1 }]);
      const olive = await engineer('olive@example.com');
      const created = await olive.ask('pd-db', 3601);
      expect(created.body.request).toMatchObject({ state: 'pending', approvalsRequired: 1 });
      expect(pagerduty.seen).toHaveLength(0);
      expect((await createdAudit(created.body.request.id)).detail).toMatchObject({ outcome: 'review', onCall: { result: 'too-long', maxDurationSeconds: 3600 } });
      // The reviewers' card says why the on-call rule did not approve it.
      expect(created.body.request.onCallCheck).toEqual({ source: 'pagerduty', schedule: 'PSCHED1', outcome: 'too-long', words: 'asked longer than the 1h an on-call approval covers for pagerduty schedule PSCHED1' });
    });

    it('asks once for a burst and reuses the answer for 30 s, then asks again', async () => {
      const now = h.clock.ms;
      pagerduty.oncalls.set('PSCHED1', [{ user: { id: 'PU1', name: 'Olive', email: 'olive@example.com' }, start: iso(now - HOUR), end: iso(now + HOUR), level: 1 }]);
      const burst = await Promise.all(['olive@example.com', 'x@example.com', 'y@example.com', 'olive@example.com'].map((email) => engineer(email)));
      const answers = await Promise.all(burst.map((person) => person.ask('pd-db', 900)));
      expect(answers.map((a) => a.body.request.state)).toEqual(['active', 'pending', 'pending', 'active']);
      expect(pagerduty.seen).toHaveLength(1);
      h.clock.advance(29_000);
      expect((await (await engineer('z@example.com')).ask('pd-db', 900)).body.request.state).toBe('pending');
      expect(pagerduty.seen).toHaveLength(1);
      h.clock.advance(1_000);
      expect((await (await engineer('olive@example.com')).ask('pd-db', 900)).body.request.state).toBe('active');
      expect(pagerduty.seen).toHaveLength(2);
    });

    it.each([
      ['http-500', /^PagerDuty answered HTTP 500$/],
      ['not-json', /^PagerDuty answered with something that is not JSON$/],
      // The double leaves out include[]=users' full user: no email to match anyone by.
      ['wrong-shape', /^PagerDuty answered in a shape Stint does not know \(oncalls\.0\.user\.email: /],
      ['hang', /^PagerDuty did not answer within 400 ms$/],
    ] as const)('falls back to review, never approval, when PagerDuty fails (%s), and does not cache the failure', async (trouble, error) => {
      const now = h.clock.ms;
      pagerduty.oncalls.set('PSCHED1', [{ user: { id: 'PU1', name: 'Olive', email: 'olive@example.com' }, start: iso(now - HOUR), end: iso(now + HOUR), level: 1 }]);
      pagerduty.trouble = trouble;
      const created = await (await engineer('olive@example.com')).ask('pd-db', 900);
      expect(created.status).toBe(201);
      expect(created.body.request).toMatchObject({ state: 'pending', approvalsRequired: 1 });
      expect((await createdAudit(created.body.request.id)).detail).toMatchObject({ outcome: 'review', onCall: { source: 'pagerduty', schedule: 'PSCHED1', result: 'failed', error: expect.stringMatching(error) } });
      // PagerDuty recovers: the next request asks again and is approved.
      pagerduty.trouble = null;
      expect((await (await engineer('olive@example.com')).ask('pd-db', 900)).body.request.state).toBe('active');
      expect(pagerduty.seen).toHaveLength(2);
    });

    it('falls back to review when PagerDuty cannot be reached at all', async () => {
      const created = await (await engineer('olive@example.com')).ask('gone-db', 900);
      expect(created.body.request.state).toBe('pending');
      expect((await createdAudit(created.body.request.id)).detail.onCall).toEqual({ source: 'gone', schedule: 'PSCHED1', result: 'failed', error: expect.stringMatching(/^cannot reach PagerDuty \(ECONNREFUSED\)$/) });
      expect(created.body.request.onCallCheck).toMatchObject({ outcome: 'failed', words: 'gone schedule PSCHED1 could not be asked (cannot reach PagerDuty (ECONNREFUSED)), so it was not approved on call' });
    });

    it('does not ask for someone already approved by group, and cannot match a requester without email', async () => {
      const lead = await engineer('lead@example.com', ['engineering', 'sre-leads']);
      const byGroup = await lead.ask('rota-db', 900);
      expect(byGroup.body.request.state).toBe('active');
      expect((await createdAudit(byGroup.body.request.id)).detail).toMatchObject({ outcome: 'auto' });
      expect((await createdAudit(byGroup.body.request.id)).detail.onCall).toBeUndefined();

      const anonymous = await (await engineer(null)).ask('pd-db', 900);
      expect(anonymous.body.request.state).toBe('pending');
      expect((await createdAudit(anonymous.body.request.id)).detail.onCall).toEqual({ source: 'pagerduty', schedule: 'PSCHED1', result: 'not-on-call', why: 'the requester has no email address to match' });
      expect(pagerduty.seen).toHaveLength(0);
    });
  });

  describe('Opsgenie', () => {
    const schedule = '6f2d6c1e-1111-4a6e-9c4b-2d8e5a7b9c01';

    it('approves someone on call now, asking as Opsgenie documents; Opsgenie gives no shift times', async () => {
      opsgenie.schedules.set(schedule, { name: 'platform_schedule', onCall: ['oscar@example.com'] });
      const created = await (await engineer('oscar@example.com')).ask('og-db', 1800);
      expect(created.body.request).toMatchObject({ state: 'active', autoApprovedBy: { kind: 'on-call', source: 'opsgenie', schedule, shiftStart: null, shiftEnd: null } });
      expect(opsgenie.seen).toHaveLength(1);
      const [asked] = opsgenie.seen;
      expect(asked!.path).toBe(`/v2/schedules/${schedule}/on-calls`);
      expect(asked!.query.get('scheduleIdentifierType')).toBe('id');
      expect(asked!.query.get('flat')).toBe('true');
      expect(asked!.query.get('date')).toBe(iso(h.clock.ms));
      expect(asked!.headers.authorization).toBe('GenieKey og-secret');
      expect((await createdAudit(created.body.request.id)).detail).toMatchObject({ outcome: 'on-call', onCall: { source: 'opsgenie', schedule, result: 'on-call', shift: { start: null, end: null } } });
    });

    it('sends someone not on call to review', async () => {
      opsgenie.schedules.set(schedule, { name: 'platform_schedule', onCall: ['oscar@example.com'] });
      const created = await (await engineer('nina@example.com')).ask('og-db', 900);
      expect(created.body.request.state).toBe('pending');
      expect((await createdAudit(created.body.request.id)).detail.onCall).toEqual({ source: 'opsgenie', schedule, result: 'not-on-call' });
      expect(created.body.request.onCallCheck).toMatchObject({ outcome: 'not-on-call', words: `not on call now for opsgenie schedule ${schedule}` });
    });

    it.each([
      ['http-500', /^Opsgenie answered HTTP 500$/],
      ['wrong-shape', /^Opsgenie answered in a shape Stint does not know \(data\.onCallRecipients: /],
      ['hang', /^Opsgenie did not answer within 400 ms$/],
    ] as const)('falls back to review when Opsgenie fails (%s)', async (trouble, error) => {
      opsgenie.schedules.set(schedule, { name: 'platform_schedule', onCall: ['oscar@example.com'] });
      opsgenie.trouble = trouble;
      const created = await (await engineer('oscar@example.com')).ask('og-db', 900);
      expect(created.body.request.state).toBe('pending');
      expect((await createdAudit(created.body.request.id)).detail.onCall).toMatchObject({ result: 'failed', error: expect.stringMatching(error) });
    });

    it('falls back to review when Opsgenie does not know the schedule (404)', async () => {
      opsgenie.schedules.clear();
      const created = await (await engineer('oscar@example.com')).ask('og-db', 900);
      expect(created.body.request.state).toBe('pending');
      expect((await createdAudit(created.body.request.id)).detail.onCall).toMatchObject({ result: 'failed', error: 'Opsgenie answered HTTP 404' });
    });
  });

  describe('rota file and URL', () => {
    const writeRota = (rota: unknown) => writeFileSync(rotaFile, typeof rota === 'string' ? rota : JSON.stringify(rota));

    it('approves someone the rota file puts on call now, up to autoApprove.maxDuration', async () => {
      const now = h.clock.ms;
      const shift = { email: 'RITA@example.com', start: iso(now - HOUR), end: iso(now + HOUR) };
      writeRota({ owner: 'platform', schedules: { primary: [shift, { email: 'later@example.com', start: iso(now + HOUR), end: iso(now + 2 * HOUR) }] } });
      const rita = await engineer('rita@example.com');
      const created = await rita.ask('rota-db', 1800);
      expect(created.body.request).toMatchObject({ state: 'active', autoApprovedBy: { source: 'rota', schedule: 'primary', shiftStart: shift.start, shiftEnd: shift.end } });
      expect((await createdAudit(created.body.request.id)).detail).toMatchObject({ outcome: 'on-call', onCall: { source: 'rota', schedule: 'primary', result: 'on-call', shift: { start: shift.start, end: shift.end } } });
      // Longer than the system's autoApprove.maxDuration (30m), which the onCall rule falls back to.
      const longer = await (await engineer('rita@example.com')).ask('rota-db', 1801);
      expect(longer.body.request.state).toBe('pending');
      // Someone whose shift is later is not on call now.
      expect((await (await engineer('later@example.com')).ask('rota-db', 900)).body.request.state).toBe('pending');
    });

    it.each([
      ['not JSON', '{"schedules": ', /^the rota file .*oncall\.json is not JSON$/],
      ['a shift without an end', { schedules: { primary: [{ email: 'rita@example.com', start: '2025-01-01T00:00:00Z' }] } }, /is not a valid rota \(schedules\.primary\.0\.end: /],
      ['a time without a zone', { schedules: { primary: [{ email: 'rita@example.com', start: '2025-01-01T00:00:00', end: '2099-01-01T00:00:00Z' }] } }, /is not a valid rota \(schedules\.primary\.0\.start: /],
      ['no such schedule', { schedules: { secondary: [] } }, /has no schedule "primary"$/],
    ] as const)('falls back to review when the rota file is wrong: %s', async (_what, rota, error) => {
      writeRota(rota);
      const created = await (await engineer('rita@example.com')).ask('rota-db', 900);
      expect(created.body.request.state).toBe('pending');
      expect((await createdAudit(created.body.request.id)).detail.onCall).toMatchObject({ source: 'rota', result: 'failed', error: expect.stringMatching(error) });
    });

    it('falls back to review when the rota file is gone', async () => {
      rmSync(rotaFile);
      try {
        const created = await (await engineer('rita@example.com')).ask('rota-db', 900);
        expect(created.body.request.state).toBe('pending');
        expect((await createdAudit(created.body.request.id)).detail.onCall).toMatchObject({ result: 'failed', error: expect.stringMatching(/^cannot read the rota file .* \(ENOENT\)$/) });
      } finally {
        writeRota({ schedules: {} });
      }
    });

    it('reads the rota from a URL with its bearer token', async () => {
      const now = h.clock.ms;
      rotaUrl.rota = { schedules: { primary: [{ email: 'uma@example.com', start: iso(now - HOUR), end: iso(now + HOUR) }] } };
      const created = await (await engineer('uma@example.com')).ask('url-db', 900);
      expect(created.body.request).toMatchObject({ state: 'active', autoApprovedBy: { source: 'rota-url', schedule: 'primary' } });
      expect(rotaUrl.seen).toMatchObject([{ path: '/oncall.json' }]);
      expect(rotaUrl.seen[0]!.headers.authorization).toBe('Bearer rota-token');
      rotaUrl.trouble = 'http-500';
      h.clock.advance(60_000);
      const failed = await (await engineer('uma@example.com')).ask('url-db', 900);
      expect(failed.body.request.state).toBe('pending');
      expect((await createdAudit(failed.body.request.id)).detail.onCall).toMatchObject({ result: 'failed', error: `the rota at ${rotaOrigin} answered HTTP 500` });
    });
  });
});
