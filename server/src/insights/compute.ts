// The figures of auditor insights, as one pure function of audit rows (plus the few facts the
// audit log does not carry: whose groups a request named, and what the configuration allows), so
// a seeded log with known answers tests every figure. Each figure names the audit rows behind it.
// docs/insights.md describes each figure and threshold.
import {
  formatDuration,
  INSIGHTS_BREAK_GLASS_LIMIT,
  INSIGHTS_EVIDENCE_LIMIT,
  type InsightBreakGlassUse,
  type InsightDurationStats,
  type InsightEvidence,
  type InsightGrantUse,
  type InsightRequestOutcomes,
  type InsightsDay,
  type InsightSuggestion,
  type InsightsResponse,
  type InsightSystemSeries,
  type InsightTopRequesters,
} from '@stint/contract';

/** An audit row as insights read it (detail parsed). */
export interface InsightRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  targetId: string;
  detail: Record<string, unknown>;
}

/** What the requests table says of a request that its audit rows do not. */
export interface RequestFacts {
  requester: string;
  requesterGroups: readonly string[];
  approverGroups: readonly string[];
}

/** A system as configured now: its longest duration and its approver groups. */
export interface SystemFacts {
  id: string;
  maxDurationSeconds: number | null;
  approverGroups: readonly string[];
}

export interface InsightsInput {
  /** The period, [from, to), epoch ms. */
  from: number;
  to: number;
  /** Outcomes of the period's requests and grants are followed up to here. */
  followedUntil: number;
  generatedAt: number;
  system: string | null;
  group: string | null;
  /** Audit rows from `from` on, in seq order (rows before `from` are ignored). */
  rows: readonly InsightRow[];
  requests: ReadonlyMap<string, RequestFacts>;
  /** Each person's groups as their latest request recorded them. */
  people: ReadonlyMap<string, readonly string[]>;
  systems: readonly SystemFacts[];
  auditRows?: { read: number; firstSeq: number | null; lastSeq: number | null };
}

/** Where a suggestion starts; docs/insights.md explains each. */
export const SUGGESTION_THRESHOLDS = {
  /** Reviewed requests of one system, all approved within maxSeconds by one approver group. */
  autoApprove: { minApproved: 10, maxSeconds: 60 },
  /** Grants whose request asked for the system's whole maximum, most of them then extended. */
  tooShort: { minGrants: 5, askedInFullShare: 0.8, extendedShare: 0.5 },
  /** Ended grants, most of them released having used at most a tenth of their time. */
  tooLong: { minEnded: 5, usedShareAtMost: 0.1, releasedShare: 0.6 },
  /** Requests a member of an approver group could have reviewed, without reviewing any. */
  idleApprover: { minReviewable: 5 },
} as const;

export const TOP_REQUESTERS = 5;
const DAY_MS = 86_400_000;

/** Sequence numbers, sorted and unique, the first INSIGHTS_EVIDENCE_LIMIT kept. */
export function evidence(seqs: Iterable<number>): InsightEvidence {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  return { count: sorted.length, seqs: sorted.slice(0, INSIGHTS_EVIDENCE_LIMIT) };
}

/** Nearest-rank percentile (p in (0, 1]) of values; null for none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** Durations (ms) with the row behind each, as seconds. */
function durationStats(samples: readonly { ms: number; seq: number }[]): InsightDurationStats {
  const seconds = samples.map((s) => s.ms / 1000);
  return {
    count: samples.length,
    medianSeconds: percentile(seconds, 0.5),
    p90Seconds: percentile(seconds, 0.9),
    maxSeconds: seconds.length > 0 ? Math.max(...seconds) : null,
    evidence: evidence(samples.map((s) => s.seq)),
  };
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const round4 = (value: number) => Math.round(value * 10_000) / 10_000;
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The UTC days the period touches. */
export function daysOf(from: number, to: number): string[] {
  const days: string[] = [];
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day < to; day += DAY_MS) days.push(dayOf(day));
  return days;
}

interface RequestTrail {
  created: InsightRow;
  requestId: string;
  systemId: string;
  extension: boolean;
  /** The policy's decision at creation: review, auto, on-call, break-glass. */
  outcome: string;
  askedSeconds: number | null;
  approvals: InsightRow[];
  decided?: InsightRow;
}

interface GrantTrail {
  activated: InsightRow;
  grantId: string;
  requestId: string;
  systemId: string;
  deadline: number;
  extensions: InsightRow[];
  end?: InsightRow;
}

const DECISIONS = new Set(['request.approved', 'request.denied', 'request.expired', 'request.cancelled']);
const GRANT_ENDS = new Set(['grant.released', 'grant.revoked', 'grant.expired']);

/** Reads the rows once into per-request and per-grant trails. */
function trails(input: InsightsInput) {
  const { from, to, rows } = input;
  const requests = new Map<string, RequestTrail>();
  const grants = new Map<string, GrantTrail>();
  const breakGlass: InsightRow[] = [];
  const reviewsBy = new Map<string, number>();
  const inPeriod = (row: InsightRow) => row.at >= from && row.at < to;
  for (const row of rows) {
    if (row.at < from || row.at >= input.followedUntil) continue;
    switch (row.action) {
      case 'request.created':
      case 'request.extension_created': {
        if (!inPeriod(row)) break;
        const systemId = text(row.detail.systemId);
        if (systemId === null) break;
        requests.set(row.targetId, {
          created: row,
          requestId: row.targetId,
          systemId,
          extension: row.action === 'request.extension_created',
          outcome: text(row.detail.outcome) ?? 'review',
          askedSeconds: num(row.detail.durationSeconds),
          approvals: [],
        });
        break;
      }
      case 'request.break_glass':
        if (inPeriod(row)) breakGlass.push(row);
        break;
      case 'review.approve':
      case 'review.deny': {
        reviewsBy.set(row.actor, (reviewsBy.get(row.actor) ?? 0) + 1);
        if (row.action === 'review.approve') requests.get(row.targetId)?.approvals.push(row);
        break;
      }
      case 'grant.activated': {
        if (!inPeriod(row)) break;
        const systemId = text(row.detail.systemId);
        const requestId = text(row.detail.requestId);
        const deadline = Date.parse(text(row.detail.expiresAt) ?? '');
        if (systemId === null || requestId === null || Number.isNaN(deadline)) break;
        grants.set(row.targetId, { activated: row, grantId: row.targetId, requestId, systemId, deadline, extensions: [] });
        break;
      }
      case 'grant.extended': {
        const grant = grants.get(row.targetId);
        const deadline = Date.parse(text(row.detail.expiresAt) ?? '');
        if (!grant || grant.end || Number.isNaN(deadline)) break;
        grant.extensions.push(row);
        grant.deadline = Math.max(grant.deadline, deadline);
        break;
      }
      default: {
        if (DECISIONS.has(row.action)) {
          const trail = requests.get(row.targetId);
          // A pending request is decided once; an approved one later "expires" with its grant.
          if (trail && !trail.decided && (row.action !== 'request.expired' || row.detail.why === 'pending_ttl')) trail.decided = row;
        } else if (GRANT_ENDS.has(row.action)) {
          const grant = grants.get(row.targetId);
          if (grant && !grant.end) grant.end = row;
        }
      }
    }
  }
  return { requests, grants, breakGlass, reviewsBy };
}

export function computeInsights(input: InsightsInput): InsightsResponse {
  const { system, group } = input;
  const all = trails(input);
  const keep = (requestId: string, systemId: string) => {
    if (system !== null && systemId !== system) return false;
    if (group === null) return true;
    const facts = input.requests.get(requestId);
    return !!facts && (facts.requesterGroups.includes(group) || facts.approverGroups.includes(group));
  };
  const requests = [...all.requests.values()].filter((r) => keep(r.requestId, r.systemId));
  const grants = [...all.grants.values()].filter((g) => keep(g.requestId, g.systemId));
  const breakGlassRows = all.breakGlass.filter((row) => keep(row.targetId, text(row.detail.systemId) ?? ''));
  const systemsSeen = [...new Set([...requests.map((r) => r.systemId), ...grants.map((g) => g.systemId), ...(system ? [system] : [])])].sort();
  const bySystem = <T extends { systemId: string }>(items: readonly T[]) => (id: string) => items.filter((item) => item.systemId === id);
  const requestsOf = bySystem(requests);
  const grantsOf = bySystem(grants);
  const configured = new Map(input.systems.map((s) => [s.id, s]));

  // Requests and grants per system per day.
  const days = daysOf(input.from, input.to);
  const series: InsightSystemSeries[] = systemsSeen.map((systemId) => ({
    systemId,
    days: days.map((day): InsightsDay => {
      const made = requestsOf(systemId).filter((r) => dayOf(r.created.at) === day);
      return {
        day,
        requests: evidence(made.filter((r) => !r.extension).map((r) => r.created.seq)),
        extensions: evidence(made.filter((r) => r.extension).map((r) => r.created.seq)),
        grants: evidence(grantsOf(systemId).filter((g) => dayOf(g.activated.at) === day).map((g) => g.activated.seq)),
      };
    }),
  }));

  // What became of them.
  const reviewedApproval = (r: RequestTrail) => r.decided?.action === 'request.approved';
  const withoutReview = (r: RequestTrail) => r.outcome !== 'review';
  const decidedAs = (action: string) => (r: RequestTrail) => r.decided?.action === action;
  const outcomes: InsightRequestOutcomes[] = systemsSeen.map((systemId) => {
    const mine = requestsOf(systemId);
    const seqs = (which: (r: RequestTrail) => boolean, row: (r: RequestTrail) => InsightRow = (r) => r.decided!) => evidence(mine.filter(which).map((r) => row(r).seq));
    return {
      systemId,
      requests: seqs(() => true, (r) => r.created),
      approved: seqs(reviewedApproval),
      approvedWithoutReview: seqs(withoutReview, (r) => r.created),
      denied: seqs(decidedAs('request.denied')),
      expiredUnreviewed: seqs(decidedAs('request.expired')),
      cancelled: seqs(decidedAs('request.cancelled')),
      pending: seqs((r) => !withoutReview(r) && !r.decided, (r) => r.created),
    };
  });

  // Created -> approved by review; each approval also counts for the approver group(s) it came through.
  const approvedByReview = requests.filter(reviewedApproval);
  const sample = (r: RequestTrail) => ({ ms: r.decided!.at - r.created.at, seq: r.decided!.seq });
  const groupsOf = new Map(approvedByReview.map((r) => [r.requestId, approvingGroups(r, input)]));
  const approverGroups = [...new Set([...groupsOf.values()].flat())].sort();
  const latency = {
    bySystem: systemsSeen
      .map((systemId) => ({ systemId, latency: durationStats(approvedByReview.filter((r) => r.systemId === systemId).map(sample)) }))
      .filter((s) => s.latency.count > 0),
    byApproverGroup: approverGroups.map((g) => ({ group: g, latency: durationStats(approvedByReview.filter((r) => groupsOf.get(r.requestId)!.includes(g)).map(sample)) })),
  };

  const created = new Map(requests.map((r) => [r.requestId, r]));
  const uses: InsightBreakGlassUse[] = breakGlassRows.slice(0, INSIGHTS_BREAK_GLASS_LIMIT).map((row) => {
    const trail = all.requests.get(row.targetId);
    return {
      seq: row.seq,
      at: new Date(row.at).toISOString(),
      systemId: text(row.detail.systemId) ?? '',
      requester: row.actor,
      requestId: row.targetId,
      reason: trail ? text(trail.created.detail.reason) : null,
      durationSeconds: trail?.askedSeconds ?? null,
    };
  });

  // How grants ended, and how much of their time was used.
  const used = (g: GrantTrail) => {
    const granted = Math.max(0, g.deadline - g.activated.at);
    const end = g.end!.action === 'grant.expired' ? g.deadline : g.end!.at;
    return { granted, used: Math.min(granted, Math.max(0, end - g.activated.at)) };
  };
  const grantUse: InsightGrantUse[] = systemsSeen.map((systemId) => {
    const mine = grantsOf(systemId);
    const ended = mine.filter((g) => g.end);
    const endedAs = (action: string) => evidence(ended.filter((g) => g.end!.action === action).map((g) => g.end!.seq));
    const times = ended.map(used);
    const granted = times.reduce((sum, t) => sum + t.granted, 0);
    const usedMs = times.reduce((sum, t) => sum + t.used, 0);
    const shares = times.filter((t) => t.granted > 0).map((t) => t.used / t.granted);
    const median = percentile(shares, 0.5);
    return {
      systemId,
      grants: evidence(mine.map((g) => g.activated.seq)),
      releasedEarly: endedAs('grant.released'),
      revoked: endedAs('grant.revoked'),
      ranToDeadline: endedAs('grant.expired'),
      stillActive: evidence(mine.filter((g) => !g.end).map((g) => g.activated.seq)),
      grantedSeconds: granted / 1000,
      usedSeconds: usedMs / 1000,
      usedShare: granted > 0 ? round4(usedMs / granted) : null,
      medianUsedShare: median === null ? null : round4(median),
    };
  });

  const topRequesters: InsightTopRequesters[] = systemsSeen.map((systemId) => {
    const people = new Map<string, RequestTrail[]>();
    for (const r of requestsOf(systemId)) people.set(r.created.actor, [...(people.get(r.created.actor) ?? []), r]);
    const ranked = [...people.entries()].sort(([a, ra], [b, rb]) => rb.length - ra.length || a.localeCompare(b));
    return {
      systemId,
      requesters: ranked.slice(0, TOP_REQUESTERS).map(([person, mine]) => ({
        person,
        requests: evidence(mine.map((r) => r.created.seq)),
        granted: mine.filter((r) => reviewedApproval(r) || withoutReview(r)).length,
      })),
    };
  });

  const suggestions = [
    ...autoApproveCandidates(systemsSeen, outcomes, approvedByReview, groupsOf),
    ...durationSuggestions(systemsSeen, grantsOf, created, configured, used),
    ...idleApprovers(input, requests, all.reviewsBy),
  ];

  return {
    period: {
      from: new Date(input.from).toISOString(),
      to: new Date(input.to).toISOString(),
      system,
      group,
      generatedAt: new Date(input.generatedAt).toISOString(),
      followedUntil: new Date(input.followedUntil).toISOString(),
      auditRows: input.auditRows ?? { read: input.rows.length, firstSeq: input.rows[0]?.seq ?? null, lastSeq: input.rows.at(-1)?.seq ?? null },
    },
    series,
    outcomes,
    latency,
    breakGlass: { evidence: evidence(breakGlassRows.map((row) => row.seq)), uses },
    grantUse,
    topRequesters,
    suggestions,
  };
}

/**
 * The approver groups an approval came through. The audit log names the reviewer, not their
 * groups: a reviewer's groups are those their own latest request recorded, met with the
 * request's approver groups; unknown, all of the request's approver groups are credited.
 */
function approvingGroups(r: RequestTrail, input: InsightsInput): string[] {
  const facts = input.requests.get(r.requestId);
  if (!facts || facts.approverGroups.length === 0) return ['(unknown)'];
  const found = new Set<string>();
  for (const approval of r.approvals) for (const g of input.people.get(approval.actor) ?? []) if (facts.approverGroups.includes(g)) found.add(g);
  return found.size > 0 ? [...found].sort() : [...facts.approverGroups].sort();
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const percent = (share: number) => `${Math.round(share * 100)}%`;

function autoApproveCandidates(systems: readonly string[], outcomes: readonly InsightRequestOutcomes[], approved: readonly RequestTrail[], groupsOf: ReadonlyMap<string, string[]>): InsightSuggestion[] {
  const { minApproved, maxSeconds } = SUGGESTION_THRESHOLDS.autoApprove;
  const out: InsightSuggestion[] = [];
  for (const systemId of systems) {
    const o = outcomes.find((x) => x.systemId === systemId)!;
    const mine = approved.filter((r) => r.systemId === systemId);
    if (mine.length < minApproved || o.denied.count > 0 || o.expiredUnreviewed.count > 0) continue;
    const seconds = mine.map((r) => (r.decided!.at - r.created.at) / 1000);
    const slowest = Math.max(...seconds);
    const groups = new Set(mine.map((r) => (groupsOf.get(r.requestId) ?? []).join(',')));
    const only = groups.size === 1 ? [...groups][0]! : null;
    if (slowest > maxSeconds || only === null || only.includes(',') || only === '(unknown)') continue;
    const median = percentile(seconds, 0.5)!;
    out.push({
      kind: 'auto_approve_candidate',
      systemId,
      group: only,
      person: null,
      sentence: `All ${mine.length} reviewed requests for ${systemId} were approved within a minute (median ${formatDuration(median)}, slowest ${formatDuration(slowest)}), every one by ${only}, and none was denied or left to expire: consider autoApprove for ${systemId}, or fewer approvals.`,
      numbers: { approved: mine.length, medianSeconds: median, p90Seconds: percentile(seconds, 0.9)!, maxSeconds: slowest },
      evidence: evidence(mine.map((r) => r.decided!.seq)),
    });
  }
  return out;
}

function durationSuggestions(
  systems: readonly string[],
  grantsOf: (systemId: string) => GrantTrail[],
  created: ReadonlyMap<string, RequestTrail>,
  configured: ReadonlyMap<string, SystemFacts>,
  used: (g: GrantTrail) => { granted: number; used: number },
): InsightSuggestion[] {
  const out: InsightSuggestion[] = [];
  const short = SUGGESTION_THRESHOLDS.tooShort;
  const long = SUGGESTION_THRESHOLDS.tooLong;
  for (const systemId of systems) {
    const max = configured.get(systemId)?.maxDurationSeconds ?? null;
    const grants = grantsOf(systemId);

    // Too short: asked in full, then extended.
    if (max !== null) {
      const askedOf = (g: GrantTrail) => created.get(g.requestId)?.askedSeconds ?? null;
      const asked = grants.filter((g) => askedOf(g) !== null);
      const inFull = asked.filter((g) => askedOf(g)! >= max);
      const extended = inFull.filter((g) => g.extensions.length > 0);
      if (asked.length >= short.minGrants && inFull.length >= short.askedInFullShare * asked.length && inFull.length > 0 && extended.length >= short.extendedShare * inFull.length) {
        out.push({
          kind: 'max_duration_too_short',
          systemId,
          group: null,
          person: null,
          sentence: `${inFull.length} of ${plural(asked.length, 'grant')} for ${systemId} asked for the whole maximum (${formatDuration(max)}) and ${extended.length} of those were then extended: the maximum looks too short.`,
          numbers: { grants: asked.length, askedInFull: inFull.length, extended: extended.length, maxDurationSeconds: max },
          evidence: evidence([...inFull.map((g) => created.get(g.requestId)!.created.seq), ...extended.map((g) => g.extensions[0]!.seq)]),
        });
      }
    }

    // Too long: mostly released having used a tenth of the time or less.
    const ended = grants.filter((g) => g.end);
    const quick = ended.filter((g) => {
      if (g.end!.action !== 'grant.released') return false;
      const t = used(g);
      return t.granted > 0 && t.used <= long.usedShareAtMost * t.granted;
    });
    if (ended.length >= long.minEnded && quick.length >= long.releasedShare * ended.length) {
      const shares = ended.map(used).filter((t) => t.granted > 0).map((t) => t.used / t.granted);
      const median = round4(percentile(shares, 0.5) ?? 0);
      out.push({
        kind: 'max_duration_too_long',
        systemId,
        group: null,
        person: null,
        sentence: `${quick.length} of ${plural(ended.length, 'ended grant')} for ${systemId} were released having used a tenth of their time or less (median use ${percent(median)}): shorter presets or a shorter maximum would do.`,
        numbers: { ended: ended.length, releasedWithinTenth: quick.length, medianUsedShare: median, ...(max !== null ? { maxDurationSeconds: max } : {}) },
        evidence: evidence(quick.map((g) => g.end!.seq)),
      });
    }
  }
  return out;
}

function idleApprovers(input: InsightsInput, requests: readonly RequestTrail[], reviewsBy: ReadonlyMap<string, number>): InsightSuggestion[] {
  const reviewable = requests.filter((r) => r.outcome === 'review').map((r) => ({ r, facts: input.requests.get(r.requestId) })).filter((x) => x.facts);
  const groups = new Set(reviewable.flatMap((x) => x.facts!.approverGroups));
  const out: InsightSuggestion[] = [];
  for (const g of [...groups].sort()) {
    if (input.group !== null && g !== input.group) continue;
    const members = [...input.people.entries()].filter(([, groupsOfPerson]) => groupsOfPerson.includes(g)).map(([person]) => person).sort();
    for (const person of members) {
      if ((reviewsBy.get(person) ?? 0) > 0) continue;
      const theirs = reviewable.filter((x) => x.facts!.approverGroups.includes(g) && x.facts!.requester !== person);
      if (theirs.length < SUGGESTION_THRESHOLDS.idleApprover.minReviewable) continue;
      const systems = [...new Set(theirs.map((x) => x.r.systemId))].sort();
      out.push({
        kind: 'idle_approver',
        systemId: systems.length === 1 ? systems[0]! : null,
        group: g,
        person,
        sentence: `${person} is in ${g}, an approver group for ${systems.join(', ')}, and reviewed none of the ${theirs.length} requests they could have: remind them, or take them out of the group.`,
        numbers: { reviewable: theirs.length, reviews: 0 },
        evidence: evidence(theirs.map((x) => x.r.created.seq)),
      });
    }
  }
  return out;
}
