import { InsightsResponse, type InsightEvidence } from '@stint/contract';
import { describe, expect, it } from 'vitest';
import {
  barAt,
  barOffsets,
  breakGlassFigure,
  dailyFigure,
  defaultFilters,
  grantUseFigure,
  insightsQuery,
  latencyFigure,
  mergeEvidence,
  outcomesFigure,
  periodDays,
  rowsSummary,
  topRequestersFigure,
} from './insights-figures';

const ev = (...seqs: number[]): InsightEvidence => ({ count: seqs.length, seqs });
const none = ev();
const names: Record<string, string> = { 'prod-db': 'Production database', 'staging-db': 'Staging database' };
const nameOf = (id: string) => names[id] ?? id;

/** A two-day report on prod-db, checked against the contract so the test cannot drift from it. */
const response = InsightsResponse.parse({
  period: {
    from: '2026-11-02T00:00:00.000Z',
    to: '2026-11-04T00:00:00.000Z',
    system: null,
    group: null,
    generatedAt: '2026-11-05T00:00:00.000Z',
    followedUntil: '2026-11-05T00:00:00.000Z',
    auditRows: { read: 20, firstSeq: 1, lastSeq: 20 },
  },
  series: [
    {
      systemId: 'prod-db',
      days: [
        { day: '2026-11-02', requests: ev(1, 4), extensions: none, grants: ev(3) },
        { day: '2026-11-03', requests: ev(9), extensions: ev(12), grants: none },
      ],
    },
  ],
  outcomes: [{ systemId: 'prod-db', requests: ev(1, 4, 9, 12), approved: ev(3), approvedWithoutReview: none, denied: ev(6), expiredUnreviewed: ev(15), cancelled: none, pending: ev(12) }],
  latency: {
    bySystem: [{ systemId: 'prod-db', latency: { count: 1, medianSeconds: 150, p90Seconds: 150, maxSeconds: 150, evidence: ev(3) } }],
    byApproverGroup: [{ group: 'sre-leads', latency: { count: 0, medianSeconds: null, p90Seconds: null, maxSeconds: null, evidence: none } }],
  },
  breakGlass: {
    evidence: ev(7, 17),
    uses: [
      { seq: 7, at: '2026-11-02T22:10:00.000Z', systemId: 'prod-db', requester: 'carol', requestId: 'r7', reason: 'outage', durationSeconds: 1800 },
      { seq: 17, at: '2026-11-03T01:00:00.000Z', systemId: 'prod-db', requester: 'carol', requestId: 'r17', reason: null, durationSeconds: null },
    ],
  },
  grantUse: [
    { systemId: 'prod-db', grants: ev(3, 8), releasedEarly: ev(5), revoked: none, ranToDeadline: ev(11), stillActive: none, grantedSeconds: 7200, usedSeconds: 4500, usedShare: 0.625, medianUsedShare: 0.625 },
  ],
  topRequesters: [{ systemId: 'prod-db', requesters: [{ person: 'alice', requests: ev(1, 4), granted: 1 }, { person: 'bob', requests: ev(9), granted: 0 }] }],
  suggestions: [],
});

describe('insights figures', () => {
  it('lays out requests and grants per UTC day, charting requests and grants', () => {
    const figure = dailyFigure(response.series[0]!, nameOf);
    expect(figure.title).toBe('Production database');
    expect(figure.rows.map((r) => [r.label, ...r.cells.map((c) => c.text)])).toEqual([
      ['2026-11-02', '2', '0', '1'],
      ['2026-11-03', '1', '1', '0'],
    ]);
    expect(figure.chart.columns.map((c) => figure.columns[c])).toEqual(['Requests', 'Grants']);
    expect(figure.rows[0]!.cells[0]!.evidence).toEqual(ev(1, 4));
  });

  it('counts the outcomes with the denied and expired-unreviewed rows behind them', () => {
    const figure = outcomesFigure(response.outcomes, nameOf);
    const row = figure.rows[0]!;
    expect(row.label).toBe('Production database');
    const cell = (name: string) => row.cells[figure.columns.indexOf(name)]!;
    expect(cell('Denied')).toEqual({ value: 1, text: '1', evidence: ev(6) });
    expect(cell('Expired unreviewed')).toEqual({ value: 1, text: '1', evidence: ev(15) });
    expect(cell('Requests').value).toBe(4);
    // The total is in the table but not drawn: the bars are its parts.
    expect(figure.chart.columns).not.toContain(figure.columns.indexOf('Requests'));
  });

  it('shows latency as durations, a dash where there was no approval, and charts median and p90', () => {
    const bySystem = latencyFigure('l', 'By system', 'System', response.latency.bySystem.map((l) => ({ label: nameOf(l.systemId), latency: l.latency })));
    expect(bySystem.rows[0]!.cells.map((c) => c.text)).toEqual(['1', '2m30s', '2m30s', '2m30s']);
    expect(bySystem.rows[0]!.cells[1]!.value).toBe(150);
    expect(bySystem.chart).toEqual({ columns: [1, 2], unit: 'seconds', x: 'categories' });
    const byGroup = latencyFigure('g', 'By approver group', 'Approver group', response.latency.byApproverGroup.map((l) => ({ label: l.group, latency: l.latency })));
    expect(byGroup.rows[0]!.cells.map((c) => c.value)).toEqual([0, null, null, null]);
    expect(byGroup.rows[0]!.cells[1]!.text).toBe('—');
  });

  it('says how grants ended and the time used of the time granted, its rows being the endings', () => {
    const figure = grantUseFigure(response.grantUse, nameOf);
    const cells = figure.rows[0]!.cells;
    expect(cells.map((c) => c.value)).toEqual([2, 1, 0, 1, 0, 0.625, 0.625]);
    expect(cells[5]!.text).toBe('63% (1h15m of 2h)');
    expect(cells[5]!.evidence).toEqual(ev(5, 11));
    expect(cells[6]!.evidence).toBeNull();
    expect(figure.chart.columns.map((c) => figure.columns[c])).toEqual(['Released early', 'Revoked', 'Ran to the deadline', 'Still active']);
  });

  it('puts break-glass uses on their UTC day, every day of the period shown', () => {
    const figure = breakGlassFigure(response.breakGlass.uses, periodDays(response));
    expect(figure.rows.map((r) => [r.label, r.cells[0]!.evidence])).toEqual([
      ['2026-11-02', ev(7)],
      ['2026-11-03', ev(17)],
    ]);
    // With no series (nothing requested), the days come from the period itself.
    expect(periodDays({ ...response, series: [] })).toEqual(['2026-11-02', '2026-11-03']);
  });

  it('ranks top requesters with their requests as rows and their grants as a plain count', () => {
    const figure = topRequestersFigure(response.topRequesters[0]!, nameOf);
    expect(figure.rows.map((r) => [r.label, r.cells[0]!.value, r.cells[1]!.value])).toEqual([
      ['alice', 2, 1],
      ['bob', 1, 0],
    ]);
    expect(figure.rows[0]!.cells[1]!.evidence).toBeNull();
  });

  it('merges evidence: counts add up, seqs are unique, sorted, at most 50', () => {
    expect(mergeEvidence([ev(9, 3), null, ev(3, 1)])).toEqual({ count: 4, seqs: [1, 3, 9] });
    const many = mergeEvidence([ev(...Array.from({ length: 40 }, (_, i) => 100 - i)), ev(...Array.from({ length: 40 }, (_, i) => i + 1))]);
    expect(many.count).toBe(80);
    expect(many.seqs).toHaveLength(50);
    expect(many.seqs[0]).toBe(1);
    expect(rowsSummary({ count: 120, seqs: many.seqs })).toBe('120 audit rows, the first 50 shown');
    expect(rowsSummary(ev(4))).toBe('1 audit row');
  });

  it('places bars side by side and finds the bar under the pointer', () => {
    const { offsets, width } = barOffsets(4);
    expect(width).toBeCloseTo(0.2);
    expect(offsets.map((o) => Number(o.toFixed(2)))).toEqual([-0.4, -0.2, 0, 0.2]);
    expect(barAt(2 - 0.35, 3, 4)).toEqual({ row: 2, column: 0 });
    expect(barAt(2 + 0.05, 3, 4)).toEqual({ row: 2, column: 2 });
    expect(barAt(2 + 0.39, 3, 4)).toEqual({ row: 2, column: 3 });
    expect(barAt(2 + 0.45, 3, 4)).toBeNull(); // the gap between categories
    expect(barAt(3.1, 3, 4)).toBeNull();
  });

  it('turns the filters into the API query: the last day included, empty fields left out', () => {
    expect(defaultFilters(Date.parse('2026-11-10T15:00:00Z'))).toEqual({ from: '2026-11-04', to: '2026-11-10', system: '', group: '' });
    expect(insightsQuery({ from: '2026-11-04', to: '2026-11-10', system: 'prod-db', group: ' sre-leads ' })).toEqual({ from: '2026-11-04', to: '2026-11-11', system: 'prod-db', group: 'sre-leads' });
    expect(insightsQuery({ from: '', to: '2026-12-31', system: '', group: '' })).toEqual({ to: '2027-01-01' });
    expect(insightsQuery({ from: '', to: '', system: '', group: '  ' })).toEqual({});
  });
});
