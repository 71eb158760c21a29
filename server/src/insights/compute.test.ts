import { INSIGHTS_EVIDENCE_LIMIT, InsightsResponse } from '@stint/contract';
import { describe, expect, it } from 'vitest';
import { computeInsights, daysOf, evidence, percentile } from './compute';
import { EXTENSION_OF, FROM, seedInput, SEED_ROWS, seqOf } from './seed.fixture';

const counts = (e: { count: number }) => e.count;
const seqs = (action: string, ids: string[]) => ids.map((id) => seqOf(action, id)).sort((a, b) => a - b);
const P = (...n: number[]) => n.map((i) => `P${i}`);

describe('insights over the seeded log', () => {
  const insights = computeInsights(seedInput());

  it('answers in the contract shape', () => {
    expect(InsightsResponse.parse(insights)).toEqual(insights);
    expect(insights.period).toMatchObject({ from: '2026-11-02T00:00:00.000Z', to: '2026-11-05T00:00:00.000Z', system: null, group: null });
  });

  it('counts requests, extensions and grants per system per day', () => {
    const table = Object.fromEntries(
      insights.series.map((s) => [s.systemId, s.days.map((d) => [d.day, counts(d.requests), counts(d.extensions), counts(d.grants)])]),
    );
    expect(table).toEqual({
      // Q0 was asked the evening before: its grant counts on the 2nd, its request does not.
      'prod-db': [['2026-11-02', 4, 3, 5], ['2026-11-03', 5, 3, 5], ['2026-11-04', 3, 0, 3]],
      sandbox: [['2026-11-02', 2, 0, 2], ['2026-11-03', 2, 0, 2], ['2026-11-04', 2, 0, 2]],
      staging: [['2026-11-02', 2, 0, 0], ['2026-11-03', 3, 0, 2], ['2026-11-04', 2, 0, 1]],
    });
    const prod = insights.series.find((s) => s.systemId === 'prod-db')!;
    expect(prod.days[0]!.requests.seqs).toEqual(seqs('request.created', P(1, 2, 3, 4)));
    expect(prod.days[0]!.extensions.seqs).toEqual(seqs('request.extension_created', ['E1', 'E2', 'E3']));
    expect(prod.days[0]!.grants.seqs).toEqual(seqs('grant.activated', ['gQ0', ...P(1, 2, 3, 4).map((p) => `g${p}`)]));
  });

  it('says what became of each request', () => {
    const table = Object.fromEntries(
      insights.outcomes.map((o) => [o.systemId, [o.requests, o.approved, o.approvedWithoutReview, o.denied, o.expiredUnreviewed, o.cancelled, o.pending].map(counts)]),
    );
    expect(table).toEqual({
      'prod-db': [18, 18, 0, 0, 0, 0, 0],
      sandbox: [6, 0, 6, 0, 0, 0, 0],
      staging: [7, 2, 1, 1, 1, 1, 1],
    });
    const staging = insights.outcomes.find((o) => o.systemId === 'staging')!;
    expect(staging.denied.seqs).toEqual([seqOf('request.denied', 'S1')]);
    expect(staging.expiredUnreviewed.seqs).toEqual([seqOf('request.expired', 'S2')]);
    expect(staging.cancelled.seqs).toEqual([seqOf('request.cancelled', 'S3')]);
    expect(staging.pending.seqs).toEqual([seqOf('request.created', 'S4')]);
    expect(staging.approvedWithoutReview.seqs).toEqual([seqOf('request.created', 'B1')]);
  });

  it('measures approval latency per system and per approver group (nearest rank)', () => {
    // prod-db: 12 approvals at 5, 10, ... 60 s and 6 extensions at 5 s: sorted, the 9th is 15 s, the 17th 55 s.
    const stats = (l: { count: number; medianSeconds: number | null; p90Seconds: number | null; maxSeconds: number | null }) => [l.count, l.medianSeconds, l.p90Seconds, l.maxSeconds];
    expect(insights.latency.bySystem.map((s) => [s.systemId, ...stats(s.latency)])).toEqual([
      ['prod-db', 18, 15, 55, 60],
      ['staging', 2, 120, 600, 600],
    ]);
    // S5 was approved by sre1 (sre); S6 by someone whose groups are unknown, credited to both of staging's groups.
    expect(insights.latency.byApproverGroup.map((g) => [g.group, ...stats(g.latency)])).toEqual([
      ['dba', 18, 15, 55, 60],
      ['ops', 1, 120, 120, 120],
      ['sre', 2, 120, 600, 600],
    ]);
    expect(insights.latency.bySystem[1]!.latency.evidence.seqs).toEqual(seqs('request.approved', ['S5', 'S6']));
  });

  it('lists break-glass uses', () => {
    expect(insights.breakGlass.evidence).toEqual({ count: 1, seqs: [seqOf('request.break_glass', 'B1')] });
    expect(insights.breakGlass.uses).toEqual([
      { seq: seqOf('request.break_glass', 'B1'), at: '2026-11-03T16:00:00.000Z', systemId: 'staging', requester: 'ann', requestId: 'B1', reason: 'outage INC-7', durationSeconds: 1800 },
    ]);
  });

  it('tells grants released early from those that ran to their deadline, and the share of time used', () => {
    const table = Object.fromEntries(
      insights.grantUse.map((g) => [
        g.systemId,
        [...[g.grants, g.releasedEarly, g.revoked, g.ranToDeadline, g.stillActive].map(counts), g.grantedSeconds, g.usedSeconds, g.usedShare, g.medianUsedShare],
      ]),
    );
    expect(table).toEqual({
      // 6 grants of 5400 s (extended) + 1800 + 3600 + 1800 + 3600 + 3600 + Q0's 3600 = 50400 s granted;
      // used 5 x 5400 + 900 + 2700 + 3600 + 600 + 360 + 1800 + 1800 = 38760 s: 0.769. P12 is still active.
      'prod-db': [13, 5, 1, 6, 1, 50400, 38760, 0.769, 0.5],
      // 6 x 1800 granted; used 60 + 180 + 100 + 120 + 1800 + 900 = 3160: 0.2926; median of 6 shares: the 3rd (120/1800).
      sandbox: [6, 5, 0, 1, 0, 10800, 3160, 0.2926, 0.0667],
      // S5 60 of 3600, S6 ran 3600, B1 900 of 1800: 4560 / 9000.
      staging: [3, 2, 0, 1, 0, 9000, 4560, 0.5067, 0.5],
    });
    const prod = insights.grantUse.find((g) => g.systemId === 'prod-db')!;
    expect(prod.revoked.seqs).toEqual([seqOf('grant.revoked', 'gP9')]);
    expect(prod.stillActive.seqs).toEqual([seqOf('grant.activated', 'gP12')]);
  });

  it('ranks the top requesters per system', () => {
    expect(insights.topRequesters.map((t) => [t.systemId, t.requesters.map((r) => [r.person, r.requests.count, r.granted])])).toEqual([
      ['prod-db', [['ann', 7, 7], ['ben', 6, 6], ['cat', 5, 5]]],
      ['sandbox', [['ben', 6, 6]]],
      ['staging', [['ann', 3, 1], ['ben', 2, 0], ['cat', 2, 2]]],
    ]);
  });

  it('suggests policy changes, each with its numbers and evidence', () => {
    expect(insights.suggestions.map((s) => [s.kind, s.systemId, s.group, s.person, s.numbers, s.evidence.count])).toEqual([
      ['auto_approve_candidate', 'prod-db', 'dba', null, { approved: 18, medianSeconds: 15, p90Seconds: 55, maxSeconds: 60 }, 18],
      ['max_duration_too_short', 'prod-db', null, null, { grants: 12, askedInFull: 10, extended: 6, maxDurationSeconds: 3600 }, 16],
      ['max_duration_too_long', 'sandbox', null, null, { ended: 6, releasedWithinTenth: 4, medianUsedShare: 0.0667, maxDurationSeconds: 1800 }, 4],
      ['idle_approver', 'prod-db', 'dba', 'dba2', { reviewable: 18, reviews: 0 }, 18],
      ['idle_approver', 'staging', 'ops', 'opsy', { reviewable: 6, reviews: 0 }, 6],
    ]);
    const [auto, short, long] = insights.suggestions;
    expect(auto!.sentence).toBe(
      'All 18 reviewed requests for prod-db were approved within a minute (median 15s, slowest 1m), every one by dba, and none was denied or left to expire: consider autoApprove for prod-db, or fewer approvals.',
    );
    expect(short!.evidence.seqs).toEqual(
      [...seqs('request.created', P(1, 2, 3, 5, 6, 7, 8, 10, 11, 12)), ...Object.keys(EXTENSION_OF).map((p) => seqOf('grant.extended', `g${p}`))].sort((a, b) => a - b),
    );
    expect(long!.evidence.seqs).toEqual(seqs('grant.released', ['gX1', 'gX2', 'gX3', 'gX4']));
    expect(long!.sentence).toMatch(/^4 of 6 ended grants for sandbox were released having used a tenth of their time or less \(median use 7%\)/);
  });

  it('keeps one system, or the requests a group took part in', () => {
    const sandbox = computeInsights(seedInput({ system: 'sandbox' }));
    expect(sandbox.series.map((s) => s.systemId)).toEqual(['sandbox']);
    expect(sandbox.suggestions.map((s) => s.kind)).toEqual(['max_duration_too_long']);
    expect(sandbox.breakGlass.evidence.count).toBe(0);

    // ops approves staging; nobody in ops asked for anything.
    const ops = computeInsights(seedInput({ group: 'ops' }));
    expect(ops.outcomes.map((o) => [o.systemId, o.requests.count])).toEqual([['staging', 7]]);
    expect(ops.latency.byApproverGroup.map((g) => [g.group, g.latency.count])).toEqual([['ops', 1], ['sre', 2]]);
    expect(ops.suggestions.map((s) => [s.kind, s.person])).toEqual([['idle_approver', 'opsy']]);
    expect(ops.breakGlass.evidence.count).toBe(1);

    // A system with no activity still gets its (empty) days.
    const quiet = computeInsights(seedInput({ system: 'nothing-here' }));
    expect(quiet.series).toEqual([{ systemId: 'nothing-here', days: expect.any(Array) }]);
    expect(quiet.series[0]!.days.every((d) => d.requests.count === 0 && d.grants.count === 0)).toBe(true);
    expect(quiet.suggestions).toEqual([]);
  });

  it('ignores rows before the period and after what it follows', () => {
    // Only the rows of the period's first day: the rest of the log is as if not yet written.
    const firstDay = computeInsights(seedInput({ to: FROM + 86_400_000, followedUntil: FROM + 86_400_000, rows: SEED_ROWS }));
    expect(firstDay.series.find((s) => s.systemId === 'prod-db')!.days.map((d) => d.requests.count)).toEqual([4]);
    expect(firstDay.outcomes.find((o) => o.systemId === 'prod-db')!.requests.count).toBe(7);
  });
});

describe('building blocks', () => {
  it('bounds evidence and keeps the total', () => {
    const many = evidence(Array.from({ length: 120 }, (_, i) => 120 - i).concat([5, 5]));
    expect(many.count).toBe(120);
    expect(many.seqs).toHaveLength(INSIGHTS_EVIDENCE_LIMIT);
    expect(many.seqs.slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([7], 0.9)).toBe(7);
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
  });

  it('lists the UTC days a period touches', () => {
    expect(daysOf(Date.parse('2026-11-02T12:00:00Z'), Date.parse('2026-11-03T01:00:00Z'))).toEqual(['2026-11-02', '2026-11-03']);
    expect(daysOf(Date.parse('2026-11-02T00:00:00Z'), Date.parse('2026-11-03T00:00:00Z'))).toEqual(['2026-11-02']);
  });
});
