// Attacks on what other people read: a requester (or a reviewer) writing terminal escapes, NUL
// or bidi overrides into free text, hoping to rewrite what the next person sees. The API must
// refuse each with a 400 that names the field, and store nothing; on both stores (PostgreSQL
// gave a 500 for NUL before, SQLite stored it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startHarness, type Harness } from './harness';

const HOSTILE: [string, string][] = [
  ['an erase-line escape', '\u001b[2K\r\u001b[32mapproved by security'],
  ['a NUL byte', 'fix\u0000index'],
  ['a right-to-left override', 'INC-7\u202e1-TICKET'],
  ['a first-strong isolate', 'ok\u2068hidden\u2069'],
  ['a C1 control (CSI)', 'a\u009b2Kb'],
  ['a carriage return', 'harmless\rapproved'],
  ['DEL', 'a\u007fb'],
];

describe.each(ENGINES)('hostile free text on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine });
  });
  afterAll(async () => h?.close());

  const requestCount = async () => (await h.api('alice', 'GET', '/v1/requests?scope=mine&limit=500')).body.requests.length;

  it.each(HOSTILE)('refuses %s in a request reason or ticket, naming the field, and stores nothing', async (_name, text) => {
    const before = await requestCount();
    for (const field of ['reason', 'ticket'] as const) {
      const body = { systemId: 'prod-db', durationSeconds: 900, reason: 'rotate the index', ticket: 'OPS-42', [field]: text };
      const reply = await h.api('alice', 'POST', '/v1/requests', body);
      expect(reply.status, field).toBe(400);
      expect(reply.body.message).toContain(`${field}:`);
      expect(reply.body.message).toMatch(/remove it/);
    }
    expect(await requestCount()).toBe(before);
  });

  it('allows tabs and newlines where text may span lines (a reason), not in a ticket', async () => {
    const ok = await h.api('alice', 'POST', '/v1/requests', { systemId: 'prod-db', durationSeconds: 900, reason: 'step 1:\tstop\nstep 2:\tstart', ticket: 'OPS-42' });
    expect(ok.status).toBe(201);
    expect(ok.body.request.reason).toBe('step 1:\tstop\nstep 2:\tstart');
    const refused = await h.api('alice', 'POST', '/v1/requests', { systemId: 'prod-db', durationSeconds: 900, reason: 'x', ticket: 'OPS-42\nOPS-43' });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain('ticket:');
  });

  let requesters = 0;
  it.each(HOSTILE)('refuses %s in a review comment, and the request stays pending', async (_name, text) => {
    // Someone new each time: one person has one open request per system.
    const requester = await h.person(`requester-${requesters++}`);
    const created = await h.api(requester, 'POST', '/v1/requests', { systemId: 'prod-db', durationSeconds: 900, reason: 'rotate', ticket: 'OPS-42' });
    const reply = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve', comment: text });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain('comment:');
    const after = await h.api(requester, 'GET', `/v1/requests/${created.body.request.id}`);
    expect(after.body.request).toMatchObject({ state: 'pending', reviews: [] });
  });

  it('refuses control characters in an SSH public key, an extension reason and a revoke reason', async () => {
    const key = await h.api('alice', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300, publicKey: 'ssh-ed25519 AAAA\u0000x' });
    expect(key.status).toBe(400);
    expect(key.body.message).toContain('publicKey:');

    const grant = (await h.api('alice', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 })).body.grant;
    const extend = await h.api('alice', 'POST', `/v1/grants/${grant.id}/extend`, { durationSeconds: 60, reason: 'more\u001b]0;pwned\u0007' });
    expect(extend.status).toBe(400);
    expect(extend.body.message).toContain('reason:');
    const revoke = await h.api('dana', 'POST', `/v1/grants/${grant.id}/revoke`, { reason: '\u202eesaeler' });
    expect(revoke.status).toBe(400);
    expect(revoke.body.message).toContain('reason:');
    expect((await h.api('alice', 'GET', `/v1/requests/${grant.requestId}`)).body.grant.state).toBe('active');
  });
});
