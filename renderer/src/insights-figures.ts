// The Insights screen's figures as plain data: each is one table (its text alternative, and
// where every number links to its audit rows) and the columns of it a chart draws. Pure, so what
// the screen shows is tested without a canvas. docs/insights.md says what each figure means.
import {
  formatDuration,
  INSIGHTS_EVIDENCE_LIMIT,
  type InsightBreakGlassUse,
  type InsightEvidence,
  type InsightGrantUse,
  type InsightRequestOutcomes,
  type InsightsQuery,
  type InsightsResponse,
  type InsightSystemSeries,
  type InsightTopRequesters,
} from '@stint/contract';

export interface FigureCell {
  value: number | null;
  /** As a person reads it: "3", "2m30s", "40%", "—". */
  text: string;
  /** The audit rows behind the number; null for a derived number (a share, a median). */
  evidence: InsightEvidence | null;
}

export interface Figure {
  /** A stable id (headings, keys). */
  id: string;
  title: string;
  /** What a row is: "Day", "System", "Approver group", "Person". */
  rowHeader: string;
  columns: string[];
  rows: { label: string; cells: FigureCell[] }[];
  /** The columns the chart draws (indexes into `columns`), and what their values are. */
  chart: { columns: number[]; unit: 'count' | 'seconds'; x: 'days' | 'categories' };
}

export type NameOf = (systemId: string) => string;

const count = (evidence: InsightEvidence): FigureCell => ({ value: evidence.count, text: String(evidence.count), evidence });
const seconds = (value: number | null): FigureCell => ({ value, text: value === null ? '—' : formatDuration(value), evidence: null });
const share = (value: number | null): FigureCell => ({ value, text: value === null ? '—' : `${Math.round(value * 100)}%`, evidence: null });
const plainCount = (value: number): FigureCell => ({ value, text: String(value), evidence: null });

/** The rows behind several figures at once (a day's requests and grants), oldest first, at most INSIGHTS_EVIDENCE_LIMIT listed. */
export function mergeEvidence(all: readonly (InsightEvidence | null)[]): InsightEvidence {
  const present = all.filter((e): e is InsightEvidence => e !== null);
  const seqs = [...new Set(present.flatMap((e) => e.seqs))].sort((a, b) => a - b).slice(0, INSIGHTS_EVIDENCE_LIMIT);
  return { count: present.reduce((sum, e) => sum + e.count, 0), seqs };
}

/** Requests, extensions and grants of one system, day by day (UTC days). */
export function dailyFigure(series: InsightSystemSeries, nameOf: NameOf): Figure {
  return {
    id: `daily-${series.systemId}`,
    title: nameOf(series.systemId),
    rowHeader: 'Day (UTC)',
    columns: ['Requests', 'Extensions', 'Grants'],
    rows: series.days.map((d) => ({ label: d.day, cells: [count(d.requests), count(d.extensions), count(d.grants)] })),
    chart: { columns: [0, 2], unit: 'count', x: 'days' },
  };
}

/** What became of the period's requests, per system: the denied and expired-unreviewed ones among them. */
export function outcomesFigure(outcomes: readonly InsightRequestOutcomes[], nameOf: NameOf): Figure {
  return {
    id: 'outcomes',
    title: 'What became of the requests',
    rowHeader: 'System',
    columns: ['Requests', 'Approved by review', 'Approved without review', 'Denied', 'Expired unreviewed', 'Cancelled', 'Pending'],
    rows: outcomes.map((o) => ({
      label: nameOf(o.systemId),
      cells: [o.requests, o.approved, o.approvedWithoutReview, o.denied, o.expiredUnreviewed, o.cancelled, o.pending].map(count),
    })),
    chart: { columns: [1, 2, 3, 4, 5, 6], unit: 'count', x: 'categories' },
  };
}

/** Approval latency (request created -> approved by review): median and p90, per system or per approver group. */
export function latencyFigure(id: string, title: string, rowHeader: string, rows: readonly { label: string; latency: InsightsResponse['latency']['bySystem'][number]['latency'] }[]): Figure {
  return {
    id,
    title,
    rowHeader,
    columns: ['Approvals', 'Median', 'p90', 'Slowest'],
    rows: rows.map(({ label, latency }) => ({
      label,
      cells: [count(latency.evidence), seconds(latency.medianSeconds), seconds(latency.p90Seconds), seconds(latency.maxSeconds)],
    })),
    chart: { columns: [1, 2], unit: 'seconds', x: 'categories' },
  };
}

/** How the period's grants ended, and the share of the granted time used by those that ended. */
export function grantUseFigure(grantUse: readonly InsightGrantUse[], nameOf: NameOf): Figure {
  return {
    id: 'grant-use',
    title: 'How grants ended',
    rowHeader: 'System',
    columns: ['Grants', 'Released early', 'Revoked', 'Ran to the deadline', 'Still active', 'Time used of time granted', 'Median share used'],
    rows: grantUse.map((g) => ({
      label: nameOf(g.systemId),
      cells: [
        count(g.grants),
        count(g.releasedEarly),
        count(g.revoked),
        count(g.ranToDeadline),
        count(g.stillActive),
        // The rows behind the share are the endings it is computed from.
        { ...share(g.usedShare), text: g.usedShare === null ? '—' : `${Math.round(g.usedShare * 100)}% (${formatDuration(g.usedSeconds)} of ${formatDuration(g.grantedSeconds)})`, evidence: mergeEvidence([g.releasedEarly, g.revoked, g.ranToDeadline]) },
        share(g.medianUsedShare),
      ],
    })),
    chart: { columns: [1, 2, 3, 4], unit: 'count', x: 'categories' },
  };
}

/** Break-glass uses per UTC day of the period (from the listed uses), each day's rows behind it. */
export function breakGlassFigure(uses: readonly InsightBreakGlassUse[], days: readonly string[]): Figure {
  const byDay = new Map<string, number[]>(days.map((d) => [d, []]));
  for (const use of uses) byDay.get(use.at.slice(0, 10))?.push(use.seq);
  return {
    id: 'break-glass',
    title: 'Break-glass uses',
    rowHeader: 'Day (UTC)',
    columns: ['Uses'],
    rows: [...byDay].map(([day, seqs]) => ({ label: day, cells: [count({ count: seqs.length, seqs: seqs.slice(0, INSIGHTS_EVIDENCE_LIMIT) })] })),
    chart: { columns: [0], unit: 'count', x: 'days' },
  };
}

/** One system's five most frequent requesters, and how many of their requests were granted. */
export function topRequestersFigure(top: InsightTopRequesters, nameOf: NameOf): Figure {
  return {
    id: `top-${top.systemId}`,
    title: nameOf(top.systemId),
    rowHeader: 'Person',
    columns: ['Requests', 'Granted'],
    rows: top.requesters.map((r) => ({ label: r.person, cells: [count(r.requests), plainCount(r.granted)] })),
    chart: { columns: [0, 1], unit: 'count', x: 'categories' },
  };
}

/** The UTC days of the response's period (from its first system's series, else from the period itself). */
export function periodDays(response: Pick<InsightsResponse, 'period' | 'series'>): string[] {
  const first = response.series[0];
  if (first) return first.days.map((d) => d.day);
  const days: string[] = [];
  const end = Date.parse(response.period.to);
  for (let t = Date.parse(`${response.period.from.slice(0, 10)}T00:00:00Z`); t < end && days.length <= 366; t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/**
 * Where each of a category's bars starts, in category units, for `columns` bars side by side
 * in `groupWidth` of the category's width of 1 (bar k of category i starts at i + offsets[k]).
 */
export function barOffsets(columns: number, groupWidth = 0.8): { offsets: number[]; width: number } {
  const width = groupWidth / Math.max(1, columns);
  return { offsets: Array.from({ length: columns }, (_, k) => -groupWidth / 2 + k * width), width };
}

/** The bar a point falls on: `x` in category units (the scale's value under the pointer). */
export function barAt(x: number, categories: number, columns: number, groupWidth = 0.8): { row: number; column: number } | null {
  const row = Math.round(x);
  if (row < 0 || row >= categories) return null;
  const within = x - row + groupWidth / 2;
  if (within < 0 || within >= groupWidth) return null;
  return { row, column: Math.min(columns - 1, Math.floor(within / (groupWidth / columns))) };
}

/** What the filters hold: dates as the date inputs give them (YYYY-MM-DD, `to` included), a system id, a group name. */
export interface InsightsFilters {
  from: string;
  to: string;
  system: string;
  group: string;
}

const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The last 7 UTC days, today included. */
export function defaultFilters(now: number): InsightsFilters {
  return { from: utcDay(now - 6 * DAY_MS), to: utcDay(now), system: '', group: '' };
}

/**
 * The API's query for the filters. A person picks the last day to include; the API's `to` is
 * excluded, so it is the day after. Empty fields are left to the API's defaults.
 */
export function insightsQuery(filters: InsightsFilters): InsightsQuery {
  const query: InsightsQuery = {};
  if (filters.from) query.from = filters.from;
  if (filters.to) query.to = utcDay(Date.parse(`${filters.to}T00:00:00Z`) + DAY_MS);
  if (filters.system) query.system = filters.system;
  if (filters.group.trim()) query.group = filters.group.trim();
  return query;
}

/** "3 rows" or "120 rows, the first 50 listed". */
export function rowsSummary(evidence: InsightEvidence): string {
  const rows = `${evidence.count} audit ${evidence.count === 1 ? 'row' : 'rows'}`;
  return evidence.count > evidence.seqs.length ? `${rows}, the first ${evidence.seqs.length} shown` : rows;
}
