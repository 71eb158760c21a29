import { AuditResponse } from '@stint/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, startHarness, type Harness } from './harness';

// GET /v1/audit?seqs=: the rows behind an insights figure, fetched by their sequence numbers.
describe.each(ENGINES)('GET /v1/audit?seqs= on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine });
    // Two people, since one person has one live grant per system: a few rows to pick from.
    for (const person of ['seqs-a', 'seqs-b']) await h.api(await h.person(person), 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
  });
  afterAll(async () => h?.close());

  it('returns exactly the rows named, in chain order, leaving out ones that do not exist', async () => {
    const all = AuditResponse.parse((await h.api('dana', 'GET', '/v1/audit?limit=1000')).body).entries;
    expect(all.length).toBeGreaterThanOrEqual(4);
    const [first, , third, fourth] = all;
    const response = await h.api('dana', 'GET', `/v1/audit?seqs=${fourth!.seq},${first!.seq},${third!.seq},999999999`);
    expect(response.status).toBe(200);
    expect(AuditResponse.parse(response.body).entries).toEqual([first, third, fourth]);
    // `after` still applies, so a caller can page through a long list of seqs as through the log.
    const later = await h.api('dana', 'GET', `/v1/audit?seqs=${first!.seq},${third!.seq}&after=${first!.seq}`);
    expect(AuditResponse.parse(later.body).entries).toEqual([third]);
  });

  it('refuses more than 50 seqs, and anything that is not a list of them', async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => i + 1).join(',');
    expect((await h.api('dana', 'GET', `/v1/audit?seqs=${fifty}`)).status).toBe(200);
    for (const bad of [`${fifty},51`, '0', '1,,2', '1;2', '-1', 'abc', '', '1234567890123456']) {
      const response = await h.api('dana', 'GET', `/v1/audit?seqs=${encodeURIComponent(bad)}`);
      expect(response.status, `seqs=${bad}`).toBe(400);
      expect(response.body.error).toBe('invalid_request');
    }
  });

  it('answers auditors and admins only', async () => {
    const response = await h.api('alice', 'GET', '/v1/audit?seqs=1');
    expect(response.status).toBe(403);
    expect(response.body.error).toBe('not_an_auditor');
  });
});
