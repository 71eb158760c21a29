// A seeded audit log with known answers (worked out by hand in compute.test.ts), over three days:
// prod-db (reviewed by dba, fast: an auto-approve candidate; asked in full and extended: too
// short), staging (every outcome: denied, expired unreviewed, cancelled, pending, break-glass),
// sandbox (auto-approved, mostly released at once: too long). The same log seeds a database
// for the endpoint and report tests (seedStore).
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/chain';
import type { Store } from '../store/database';
import { insertRows } from '../store/insert';
import type { Database, RequestRow } from '../store/schema';
import type { InsightRow, InsightsInput, RequestFacts, SystemFacts } from './compute';

export const FROM = Date.parse('2026-11-02T00:00:00Z');
export const TO = Date.parse('2026-11-05T00:00:00Z');
export const GENERATED_AT = TO + 30_000;
const H = 3_600_000;
const S = 1000;
const day = (d: number, hour: number, minute = 0) => FROM + d * 24 * H + hour * H + minute * 60_000;

export const SYSTEMS: SystemFacts[] = [
  { id: 'prod-db', maxDurationSeconds: 3600, approverGroups: ['dba'] },
  { id: 'staging', maxDurationSeconds: 7200, approverGroups: ['sre', 'ops'] },
  { id: 'sandbox', maxDurationSeconds: 1800, approverGroups: [] },
];

export const PEOPLE = new Map<string, string[]>([
  ['ann', ['eng']],
  ['ben', ['eng']],
  ['cat', ['eng']],
  ['dan', ['eng']],
  ['dba1', ['dba', 'eng']],
  ['dba2', ['dba']],
  ['sre1', ['sre']],
  ['opsy', ['ops']],
]);

interface Event {
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

const events: Event[] = [];
const requests = new Map<string, RequestFacts & { systemId: string; at: number; asked: number; outcome: string }>();
const approverGroupsOf = (systemId: string) => SYSTEMS.find((s) => s.id === systemId)!.approverGroups;
const add = (at: number, actor: string, action: string, target: string, detail: Record<string, unknown>) => events.push({ at, actor, action, target, detail });
const iso = (ms: number) => new Date(ms).toISOString();

function request(id: string, systemId: string, requester: string, at: number, asked: number, options: { outcome?: string; extendsGrantId?: string; reason?: string } = {}) {
  const outcome = options.outcome ?? 'review';
  requests.set(id, { requester, requesterGroups: PEOPLE.get(requester) ?? [], approverGroups: approverGroupsOf(systemId), systemId, at, asked, outcome });
  add(at, requester, options.extendsGrantId ? 'request.extension_created' : 'request.created', id, {
    systemId,
    durationSeconds: asked,
    reason: options.reason ?? `work on ${systemId}`,
    ticket: null,
    breakGlass: outcome === 'break-glass',
    outcome,
    extendsGrantId: options.extendsGrantId ?? null,
  });
  if (outcome === 'break-glass') add(at, requester, 'request.break_glass', id, { systemId, flaggedForReview: true });
}

function approve(id: string, reviewer: string, afterSeconds: number) {
  const r = requests.get(id)!;
  const at = r.at + afterSeconds * S;
  add(at, reviewer, 'review.approve', id, { systemId: r.systemId, comment: null });
  add(at, reviewer, 'request.approved', id, { systemId: r.systemId });
  return at;
}

/** The grant of request id, active from `at` for the time asked. */
function activate(id: string, at: number) {
  const r = requests.get(id)!;
  const deadline = at + r.asked * S;
  add(at, 'stint:system', 'grant.activated', `g${id}`, { requestId: id, systemId: r.systemId, grantee: r.requester, expiresAt: iso(deadline) });
  add(at, 'stint:system', 'request.active', id, { systemId: r.systemId });
  return deadline;
}

function end(id: string, action: 'grant.released' | 'grant.revoked' | 'grant.expired', at: number, actor = requests.get(id)!.requester) {
  const r = requests.get(id)!;
  add(at, actor, action, `g${id}`, { systemId: r.systemId, grantee: r.requester });
}

// prod-db: 12 requests, approved by dba1 within 5..60 s; 10 ask the whole hour, 6 of those extended.
const prod: [string, number, number, string, number, number, 'expired' | 'released' | 'revoked' | 'active', number?][] = [
  // id, day, hour, requester, asked, latency s, ending, used seconds (released/revoked)
  ['P1', 0, 9, 'ann', 3600, 5, 'expired'],
  ['P2', 0, 10, 'ben', 3600, 10, 'expired'],
  ['P3', 0, 11, 'cat', 3600, 15, 'expired'],
  ['P4', 0, 12, 'ann', 1800, 20, 'released', 900],
  ['P5', 1, 9, 'ben', 3600, 25, 'expired'],
  ['P6', 1, 10, 'cat', 3600, 30, 'expired'],
  ['P7', 1, 11, 'ann', 3600, 35, 'released', 2700],
  ['P8', 1, 12, 'ben', 3600, 40, 'expired'],
  ['P9', 1, 13, 'cat', 1800, 45, 'revoked', 600],
  ['P10', 2, 9, 'ann', 3600, 50, 'released', 360],
  ['P11', 2, 10, 'ben', 3600, 55, 'released', 1800],
  ['P12', 2, 23, 'ann', 3600, 60, 'active'],
];
const EXTENDED = new Set(['P1', 'P2', 'P3', 'P5', 'P6', 'P7']);
export const EXTENSION_OF: Record<string, string> = { P1: 'E1', P2: 'E2', P3: 'E3', P5: 'E5', P6: 'E6', P7: 'E7' };

// Before the period: created the evening before, approved and active in the period.
request('Q0', 'prod-db', 'dan', FROM - H, 3600);
activate('Q0', approve('Q0', 'dba1', H / S + 30));
end('Q0', 'grant.released', FROM + 30 * S + 1800 * S);

for (const [id, d, hour, requester, asked, latency, ending, usedSeconds] of prod) {
  request(id, 'prod-db', requester, day(d, hour), asked);
  const start = approve(id, 'dba1', latency);
  let deadline = activate(id, start);
  if (EXTENDED.has(id)) {
    const ext = EXTENSION_OF[id]!;
    request(ext, 'prod-db', requester, start + 1800 * S, 1800, { extendsGrantId: `g${id}` });
    const approvedAt = approve(ext, 'dba1', 5);
    deadline += 1800 * S;
    add(approvedAt, 'stint:system', 'grant.extended', `g${id}`, { requestId: ext, expiresAt: iso(deadline) });
    add(approvedAt, 'stint:system', 'request.active', ext, { systemId: 'prod-db' });
  }
  // The sweeper ends a grant a moment after its deadline.
  if (ending === 'expired') end(id, 'grant.expired', deadline + 2 * S, 'stint:system');
  if (ending === 'released') end(id, 'grant.released', start + usedSeconds! * S);
  if (ending === 'revoked') end(id, 'grant.revoked', start + usedSeconds! * S, 'dana');
}
// After the report was made (outside what it follows).
end('P12', 'grant.expired', day(3, 0, 1) + 60 * S, 'stint:system');

// staging: one request per outcome.
request('S1', 'staging', 'ann', day(0, 14), 3600);
add(day(0, 14) + 300 * S, 'sre1', 'review.deny', 'S1', { systemId: 'staging', comment: 'not now' });
add(day(0, 14) + 300 * S, 'sre1', 'request.denied', 'S1', { systemId: 'staging' });
request('S2', 'staging', 'ann', day(0, 15), 3600);
add(day(0, 16), 'stint:system', 'request.expired', 'S2', { systemId: 'staging', why: 'pending_ttl' });
request('S3', 'staging', 'ben', day(1, 14), 3600);
add(day(1, 14) + 100 * S, 'ben', 'request.cancelled', 'S3', { systemId: 'staging' });
request('S4', 'staging', 'ben', day(2, 14), 3600);
request('S5', 'staging', 'cat', day(1, 15), 3600);
end('S5', 'grant.released', activate('S5', approve('S5', 'sre1', 600)) - 3540 * S);
request('S6', 'staging', 'cat', day(2, 15), 3600);
end('S6', 'grant.expired', activate('S6', approve('S6', 'ghost', 120)) + 1 * S, 'stint:system');
request('B1', 'staging', 'ann', day(1, 16), 1800, { outcome: 'break-glass', reason: 'outage INC-7' });
end('B1', 'grant.released', activate('B1', day(1, 16) + 1 * S) - 900 * S);

// sandbox: approved by policy; four of six released within a tenth of their time.
const sandbox: [string, number, number, number | 'expired'][] = [
  ['X1', 0, 8, 60],
  ['X2', 0, 9, 180],
  ['X3', 1, 8, 100],
  ['X4', 1, 9, 120],
  ['X5', 2, 8, 'expired'],
  ['X6', 2, 9, 900],
];
for (const [id, d, hour, used] of sandbox) {
  request(id, 'sandbox', 'ben', day(d, hour), 1800, { outcome: 'auto' });
  const start = day(d, hour) + 1 * S;
  const deadline = activate(id, start);
  if (used === 'expired') end(id, 'grant.expired', deadline + 1 * S, 'stint:system');
  else end(id, 'grant.released', start + used * S);
}

// Unrelated rows the figures must ignore.
add(day(1, 5), 'ann', 'credential.read', 'gP1', { systemId: 'prod-db' });
add(day(1, 6), 'ann', 'request.refused', 'prod-db', { why: 'login_name', problem: 'x' });

/** The log in chain order (by time; rows of one moment in the order written). */
export const SEED_ROWS: InsightRow[] = events
  .map((e, i) => ({ e, i }))
  .sort((a, b) => a.e.at - b.e.at || a.i - b.i)
  .map(({ e }, i) => ({ seq: i + 1, at: e.at, actor: e.actor, action: e.action, targetId: e.target, detail: e.detail }));

export const SEED_REQUESTS: ReadonlyMap<string, RequestFacts> = new Map([...requests].map(([id, r]) => [id, { requester: r.requester, requesterGroups: r.requesterGroups, approverGroups: r.approverGroups }]));

/** The seq of the row with this action on this target. */
export function seqOf(action: string, target: string): number {
  const row = SEED_ROWS.find((r) => r.action === action && r.targetId === target);
  if (!row) throw new Error(`no ${action} row for ${target} in the seed`);
  return row.seq;
}

export function seedInput(overrides: Partial<InsightsInput> = {}): InsightsInput {
  return {
    from: FROM,
    to: TO,
    followedUntil: GENERATED_AT,
    generatedAt: GENERATED_AT,
    system: null,
    group: null,
    rows: SEED_ROWS,
    requests: SEED_REQUESTS,
    people: PEOPLE,
    systems: SYSTEMS,
    ...overrides,
  };
}

/** Writes the seed into a store: a requests row per request (for the facts), then the audit chain row by row. */
export async function seedStore(store: Pick<Store, 'dialect' | 'db'>): Promise<void> {
  const rows: RequestRow[] = [...requests].map(([id, r]) => ({
    id,
    system_id: r.systemId,
    requester_sub: r.requester,
    requester_name: null,
    requester_login: null,
    requester_email: null,
    requester_groups: JSON.stringify(r.requesterGroups),
    duration_seconds: r.asked,
    asked_seconds: null,
    start_at: null,
    auto_approved_by: null,
    on_call_check: null,
    reason: 'seeded',
    ticket: null,
    break_glass: r.outcome === 'break-glass' ? 1 : 0,
    extends_grant_id: null,
    public_key: null,
    state: 'expired',
    approvals_required: r.outcome === 'review' ? 1 : 0,
    approver_groups: JSON.stringify(r.approverGroups),
    flagged: 0,
    created_at: r.at,
    updated_at: r.at,
    pending_expires_at: r.at + H,
    grant_id: null,
    failure_reason: null,
  }));
  // People who only review are known by a request of theirs too (their groups come from there).
  const reviewers = ['dba1', 'dba2', 'sre1', 'opsy'].map((sub, i): RequestRow => ({ ...rows[0]!, id: `R${i}`, system_id: 'sandbox', requester_sub: sub, requester_groups: JSON.stringify(PEOPLE.get(sub)), created_at: FROM - 2 * H, updated_at: FROM - 2 * H, approver_groups: '[]' }));
  await store.db.transaction().execute(async (trx: Kysely<Database>) => {
    await insertRows(store, trx, 'requests', [...rows, ...reviewers]);
  });
  for (const row of SEED_ROWS) {
    await store.db.transaction().execute((trx) => appendAudit(store, trx, row.at, [{ actor: row.actor, action: row.action, targetType: row.action.startsWith('grant.') ? 'grant' : 'request', targetId: row.targetId, detail: row.detail }]));
  }
}
