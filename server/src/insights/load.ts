// Reads what insights need from the store: the audit rows of the period and those that follow
// its requests and grants, and the requests table's facts the audit rows do not carry.
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema';
import type { InsightRow, InsightsInput, RequestFacts, SystemFacts } from './compute';

/** How far past the period its requests and grants are followed (a decision, an extension, the end). */
export const FOLLOW_MS = 31 * 86_400_000;
/**
 * An audit row's time is taken just before its transaction waits for the append lock, so times
 * are in seq order only to within a transaction's length; scans start and stop this far out.
 */
const SKEW_MS = 10 * 60_000;
/** People's groups are read from their requests of this long before the period's end. */
const PEOPLE_LOOKBACK_MS = 180 * 86_400_000;
const RELEVANT = /^(request|review|grant)\./;

export interface LoadProgress {
  /** Audit rows read so far, the last seq read, and the log's last seq. */
  read: number;
  seq: number;
  headSeq: number;
}

export interface LoadOptions {
  from: number;
  to: number;
  now: number;
  system: string | null;
  group: string | null;
  systems: readonly SystemFacts[];
  onProgress?: (progress: LoadProgress) => void;
  batch?: number;
}

/** The first seq whose row is at or after `at` (binary search on the primary key; seqs have no gaps). */
export async function firstSeqAtOrAfter(db: Kysely<Database>, at: number): Promise<number> {
  const bounds = await db.selectFrom('audit').select((eb) => [eb.fn.min('seq').as('lo'), eb.fn.max('seq').as('hi')]).executeTakeFirst();
  let lo = Number(bounds?.lo ?? 1);
  let hi = Number(bounds?.hi ?? 0) + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const row = await db.selectFrom('audit').select(['seq', 'at']).where('seq', '>=', mid).orderBy('seq').limit(1).executeTakeFirst();
    if (!row) hi = mid;
    else if (Number(row.at) < at) lo = Number(row.seq) + 1;
    else hi = mid;
  }
  return lo;
}

export async function loadInsightsInput(db: Kysely<Database>, options: LoadOptions): Promise<InsightsInput> {
  const { from, to, now } = options;
  const followedUntil = Math.max(to, Math.min(now, to + FOLLOW_MS));
  const batch = options.batch ?? 2000;
  const head = await db.selectFrom('audit').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const headSeq = Number(head?.seq ?? 0);
  let after = (await firstSeqAtOrAfter(db, from - SKEW_MS)) - 1;

  const rows: InsightRow[] = [];
  // Past the period only the rows of its own requests and grants are kept.
  const followed = new Set<string>();
  let read = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  scan: for (;;) {
    const page = await db.selectFrom('audit').select(['seq', 'at', 'actor', 'action', 'target_id', 'detail']).where('seq', '>', after).orderBy('seq').limit(batch).execute();
    for (const raw of page) {
      const seq = Number(raw.seq);
      const at = Number(raw.at);
      after = seq;
      read++;
      firstSeq ??= seq;
      lastSeq = seq;
      if (at >= followedUntil + SKEW_MS) break scan;
      if (at < from || at >= followedUntil || !RELEVANT.test(raw.action)) continue;
      const detail = JSON.parse(raw.detail) as Record<string, unknown>;
      const requestId = typeof detail.requestId === 'string' ? detail.requestId : null;
      if (at < to) {
        if (raw.action.startsWith('request.') && raw.action.endsWith('created')) followed.add(raw.target_id);
        if (raw.action === 'grant.activated') followed.add(raw.target_id);
      } else if (!followed.has(raw.target_id) && !(requestId && followed.has(requestId))) {
        continue;
      }
      rows.push({ seq, at, actor: raw.actor, action: raw.action, targetId: raw.target_id, detail });
    }
    options.onProgress?.({ read, seq: after, headSeq });
    if (page.length < batch) break;
  }

  return {
    from,
    to,
    followedUntil,
    generatedAt: now,
    system: options.system,
    group: options.group,
    rows,
    requests: await requestFacts(db, requestIdsOf(rows)),
    people: await peopleGroups(db, to - PEOPLE_LOOKBACK_MS, followedUntil),
    systems: options.systems,
    auditRows: { read, firstSeq, lastSeq },
  };
}

function requestIdsOf(rows: readonly InsightRow[]): string[] {
  const ids = new Set<string>();
  for (const row of rows) {
    if (row.action.startsWith('request.') || row.action.startsWith('review.')) ids.add(row.targetId);
    if (typeof row.detail.requestId === 'string') ids.add(row.detail.requestId);
  }
  return [...ids];
}

const list = (json: string): string[] => {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
};

async function requestFacts(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, RequestFacts>> {
  const facts = new Map<string, RequestFacts>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('requests').select(['id', 'requester_sub', 'requester_groups', 'approver_groups']).where('id', 'in', ids.slice(i, i + 500)).execute();
    for (const row of rows) facts.set(row.id, { requester: row.requester_sub, requesterGroups: list(row.requester_groups), approverGroups: list(row.approver_groups) });
  }
  return facts;
}

/** Each person's groups as their latest request in [since, until) recorded them. */
async function peopleGroups(db: Kysely<Database>, since: number, until: number): Promise<Map<string, string[]>> {
  const rows = await db
    .selectFrom('requests')
    .select(['requester_sub', 'requester_groups'])
    .where('created_at', '>=', since)
    .where('created_at', '<', until)
    .orderBy('created_at')
    .execute();
  return new Map(rows.map((row) => [row.requester_sub, list(row.requester_groups)]));
}
