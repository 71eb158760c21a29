// Auditor insights: the period a query names, the figures over it (compute.ts, pure), read from
// the store (load.ts). The HTTP route and `stint-server report` both come through buildInsights.
import { INSIGHTS_MAX_PERIOD_DAYS, parseDuration, type InsightsResponse } from '@stint/contract';
import type { Kysely } from 'kysely';
import type { ServerConfig } from '../config/schema';
import type { Database } from '../store/schema';
import { computeInsights, type SystemFacts } from './compute';
import { loadInsightsInput, type LoadProgress } from './load';

export { computeInsights, SUGGESTION_THRESHOLDS } from './compute';
export type { InsightRow, InsightsInput, RequestFacts, SystemFacts } from './compute';

const DAY_MS = 86_400_000;
export const DEFAULT_PERIOD_MS = 7 * DAY_MS;

/** A period that cannot be used, with what to change; a 400 at the API, a usage error in the CLI. */
export class PeriodError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeriodError';
  }
}

export interface Period {
  from: number;
  to: number;
}

/**
 * [from, to) from texts already checked for form (a date is midnight UTC; `to` defaults to now,
 * `from` to 7 days before `to`). `from` may also be a duration back from `to` ("7d", "36h").
 */
export function resolvePeriod(query: { from?: string | undefined; to?: string | undefined }, now: number): Period {
  const instant = (text: string, name: string) => {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new PeriodError(`${name} "${text}" is not a date (2026-11-01) or a date and time (2026-11-01T09:00:00Z)`);
    return ms;
  };
  const to = query.to === undefined ? now : instant(query.to, 'to');
  let from = to - DEFAULT_PERIOD_MS;
  if (query.from !== undefined) {
    const back = parseDuration(query.from);
    from = back !== null ? to - back * 1000 : instant(query.from, 'from');
  }
  if (from >= to) throw new PeriodError(`from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`);
  if (to - from > INSIGHTS_MAX_PERIOD_DAYS * DAY_MS) throw new PeriodError(`the period is ${Math.ceil((to - from) / DAY_MS)} days; ask for at most ${INSIGHTS_MAX_PERIOD_DAYS} at a time`);
  return { from, to };
}

export function systemFacts(config: Pick<ServerConfig, 'systems'> | null): SystemFacts[] {
  return (config?.systems ?? []).map((s) => ({ id: s.id, maxDurationSeconds: s.durations.max, approverGroups: s.approvers }));
}

export interface InsightsRequest extends Period {
  system: string | null;
  group: string | null;
  now: number;
  systems: readonly SystemFacts[];
  onProgress?: (progress: LoadProgress) => void;
}

export async function buildInsights(db: Kysely<Database>, request: InsightsRequest): Promise<InsightsResponse> {
  return computeInsights(await loadInsightsInput(db, request));
}
