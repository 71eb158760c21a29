// Auditor insights (GET /v1/insights, `stint-server report`): figures computed from the audit log
// for a period, each carrying the audit rows behind it, and policy suggestions with their evidence.
// docs/insights.md says what every figure means and how the suggestions are decided.
import { z } from 'zod';
import { AuditEntry, SystemId, Timestamp } from './domain';

/** At most this many sequence numbers travel with one figure; `count` says how many rows there are. */
export const INSIGHTS_EVIDENCE_LIMIT = 50;
/** The longest period one insights query may cover. */
export const INSIGHTS_MAX_PERIOD_DAYS = 366;
/** At most this many break-glass uses are listed one by one (the evidence counts them all). */
export const INSIGHTS_BREAK_GLASS_LIMIT = 200;

/** A day (midnight UTC) or an instant with its offset. */
const When = z.union([z.iso.date(), z.iso.datetime({ offset: true })], { error: 'give a date (2026-11-01) or a date and time with its offset (2026-11-01T09:00:00Z)' });
/** Group names come from the identity provider: any printable text, no control or format characters. */
const GroupName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'a group name has no control or format characters');

/**
 * GET /v1/insights. The period is [from, to): `from` defaults to 7 days before `to`, `to` to now.
 * `system` keeps one system; `group` keeps the requests a group took part in (asked by a member,
 * or reviewable by it).
 */
export const InsightsQuery = z.strictObject({
  from: When.optional(),
  to: When.optional(),
  system: SystemId.optional(),
  group: GroupName.optional(),
});
export type InsightsQuery = z.infer<typeof InsightsQuery>;

/** The audit rows behind a figure: how many, and the first INSIGHTS_EVIDENCE_LIMIT of their `seq`s (oldest first). */
export const InsightEvidence = z.object({
  count: z.number().int().nonnegative(),
  seqs: z.array(z.number().int().positive()),
});
export type InsightEvidence = z.infer<typeof InsightEvidence>;

/** A distribution of durations in seconds (nearest-rank percentiles); null when there is no sample. */
export const InsightDurationStats = z.object({
  count: z.number().int().nonnegative(),
  medianSeconds: z.number().nonnegative().nullable(),
  p90Seconds: z.number().nonnegative().nullable(),
  maxSeconds: z.number().nonnegative().nullable(),
  evidence: InsightEvidence,
});
export type InsightDurationStats = z.infer<typeof InsightDurationStats>;

export const InsightsDay = z.object({
  day: z.iso.date(),
  /** New requests created that day (not extensions); evidence: their request.created rows. */
  requests: InsightEvidence,
  /** Extension requests created that day; evidence: their request.extension_created rows. */
  extensions: InsightEvidence,
  /** Grants that became active that day; evidence: their grant.activated rows. */
  grants: InsightEvidence,
});
export type InsightsDay = z.infer<typeof InsightsDay>;

export const InsightSystemSeries = z.object({ systemId: z.string(), days: z.array(InsightsDay) });
export type InsightSystemSeries = z.infer<typeof InsightSystemSeries>;

/** What became of the requests created in the period (new and extensions), per system. */
export const InsightRequestOutcomes = z.object({
  systemId: z.string(),
  /** Every request created in the period; evidence: request.created / request.extension_created. */
  requests: InsightEvidence,
  /** Approved by review; evidence: request.approved. */
  approved: InsightEvidence,
  /** Approved without review (policy, on call, break-glass); evidence: the request's creation row. */
  approvedWithoutReview: InsightEvidence,
  /** InsightEvidence: request.denied. */
  denied: InsightEvidence,
  /** Waited for review until their time ran out; evidence: request.expired (why: pending_ttl). */
  expiredUnreviewed: InsightEvidence,
  /** Withdrawn by their requester; evidence: request.cancelled. */
  cancelled: InsightEvidence,
  /** Still waiting for review when the report was made; evidence: the creation row. */
  pending: InsightEvidence,
});
export type InsightRequestOutcomes = z.infer<typeof InsightRequestOutcomes>;

/** Request created -> approved by review, for requests created in the period. InsightEvidence: request.approved. */
export const InsightSystemLatency = z.object({ systemId: z.string(), latency: InsightDurationStats });
export const InsightGroupLatency = z.object({ group: z.string(), latency: InsightDurationStats });
export const InsightApprovalLatency = z.object({ bySystem: z.array(InsightSystemLatency), byApproverGroup: z.array(InsightGroupLatency) });
export type InsightApprovalLatency = z.infer<typeof InsightApprovalLatency>;

export const InsightBreakGlassUse = z.object({
  /** The request.break_glass row. */
  seq: z.number().int().positive(),
  at: Timestamp,
  systemId: z.string(),
  requester: z.string(),
  requestId: z.string(),
  reason: z.string().nullable(),
  durationSeconds: z.number().nullable(),
});
export type InsightBreakGlassUse = z.infer<typeof InsightBreakGlassUse>;
/** Every break-glass request made in the period (evidence: request.break_glass), the first INSIGHTS_BREAK_GLASS_LIMIT listed. */
export const InsightBreakGlass = z.object({ evidence: InsightEvidence, uses: z.array(InsightBreakGlassUse) });

/** How the grants that became active in the period ended, and how much of their time was used. */
export const InsightGrantUse = z.object({
  systemId: z.string(),
  /** InsightEvidence: grant.activated. */
  grants: InsightEvidence,
  /** Given back by the grantee before the deadline; evidence: grant.released. */
  releasedEarly: InsightEvidence,
  /** Ended by an admin; evidence: grant.revoked. */
  revoked: InsightEvidence,
  /** Ran to their deadline; evidence: grant.expired. */
  ranToDeadline: InsightEvidence,
  /** Not over when the report was made; evidence: grant.activated. */
  stillActive: InsightEvidence,
  /** Over the grants that ended: seconds granted (to the last deadline, extensions included) and used. */
  grantedSeconds: z.number().nonnegative(),
  usedSeconds: z.number().nonnegative(),
  /** usedSeconds / grantedSeconds; null when none ended. */
  usedShare: z.number().min(0).max(1).nullable(),
  /** The median of each ended grant's own share. */
  medianUsedShare: z.number().min(0).max(1).nullable(),
});
export type InsightGrantUse = z.infer<typeof InsightGrantUse>;

export const InsightTopRequesters = z.object({
  systemId: z.string(),
  requesters: z.array(z.object({ person: z.string(), requests: InsightEvidence, granted: z.number().int().nonnegative() })),
});
export type InsightTopRequesters = z.infer<typeof InsightTopRequesters>;

export const InsightSuggestionKind = z.enum(['auto_approve_candidate', 'max_duration_too_short', 'max_duration_too_long', 'idle_approver']);
export type InsightSuggestionKind = z.infer<typeof InsightSuggestionKind>;
export const InsightSuggestion = z.object({
  kind: InsightSuggestionKind,
  systemId: z.string().nullable(),
  group: z.string().nullable(),
  person: z.string().nullable(),
  /** One sentence for people, with the numbers in it. */
  sentence: z.string(),
  numbers: z.record(z.string(), z.number()),
  evidence: InsightEvidence,
});
export type InsightSuggestion = z.infer<typeof InsightSuggestion>;

export const InsightsPeriod = z.object({
  from: Timestamp,
  to: Timestamp,
  system: z.string().nullable(),
  group: z.string().nullable(),
  generatedAt: Timestamp,
  /** Outcomes are followed this far past `to` (at most 31 days, and never past generatedAt). */
  followedUntil: Timestamp,
  /** The audit rows read: how many, and the first and last seq. */
  auditRows: z.object({ read: z.number().int().nonnegative(), firstSeq: z.number().int().nullable(), lastSeq: z.number().int().nullable() }),
});

export const InsightsResponse = z.object({
  period: InsightsPeriod,
  series: z.array(InsightSystemSeries),
  outcomes: z.array(InsightRequestOutcomes),
  latency: InsightApprovalLatency,
  breakGlass: InsightBreakGlass,
  grantUse: z.array(InsightGrantUse),
  topRequesters: z.array(InsightTopRequesters),
  suggestions: z.array(InsightSuggestion),
});
export type InsightsResponse = z.infer<typeof InsightsResponse>;

/** GET /v1/audit/stream: a SIEM's pull, rows after a cursor. */
export const AuditStreamQuery = z.strictObject({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  format: z.enum(['json', 'jsonl']).default('json'),
});
/** `next` is the cursor for the following call (the last seq returned, or `after` when none was); `more` says whether rows beyond this page existed when it was read. */
export const AuditStreamResponse = z.object({ entries: z.array(AuditEntry), next: z.number().int().nonnegative(), more: z.boolean() });
export type AuditStreamResponse = z.infer<typeof AuditStreamResponse>;
