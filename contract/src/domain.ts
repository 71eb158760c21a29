import { z } from 'zod';

/** Identifiers are server-made UUIDs; anything else is refused before it reaches storage. */
export const Id = z.uuid();
export const SystemId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'a system id is lowercase letters, digits and dashes, starting with a letter');
export const Timestamp = z.iso.datetime({ offset: true });

export const RiskLevel = z.enum(['low', 'medium', 'high', 'critical']);
export type RiskLevel = z.infer<typeof RiskLevel>;

/** The request lifecycle (DESIGN.md, "Names"). */
export const RequestState = z.enum(['pending', 'approved', 'active', 'expired', 'denied', 'cancelled', 'revoked']);
export type RequestState = z.infer<typeof RequestState>;
export const TERMINAL_REQUEST_STATES: readonly RequestState[] = ['expired', 'denied', 'cancelled', 'revoked'];

/** A grant is live while active; "revoking" means its credential is still being taken back by the provider. */
/** ready: approved, waiting for its requester to start it (or for its start time); the clock has not started. */
export const GrantState = z.enum(['ready', 'issuing', 'active', 'revoking', 'ended']);
export type GrantState = z.infer<typeof GrantState>;
/** unstarted: approved, but not started within its start window. */
export const GrantEndReason = z.enum(['expired', 'released', 'revoked', 'failed', 'unstarted']);
export type GrantEndReason = z.infer<typeof GrantEndReason>;

export const Person = z.object({
  sub: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
});
export type Person = z.infer<typeof Person>;

export const Me = Person.extend({
  /** The login name the IdP gives (its login claim), what SSH principals and role names use. */
  login: z.string().optional(),
  groups: z.array(z.string()),
  isAdmin: z.boolean(),
  isAuditor: z.boolean(),
});
export type Me = z.infer<typeof Me>;

/** What the policy would do for the asking user; shown before they submit. */
export const PolicyPreview = z.object({
  approvalsRequired: z.number().int().nonnegative(),
  approverGroups: z.array(z.string()),
  /** Requests up to this many seconds are approved without review for this user; null when never. */
  autoApproveUpToSeconds: z.number().int().positive().nullable(),
  breakGlassAllowed: z.boolean(),
  justification: z.enum(['required', 'optional']),
  ticketPattern: z.string().nullable(),
  pendingTtlSeconds: z.number().int().positive(),
});
export type PolicyPreview = z.infer<typeof PolicyPreview>;

export const SystemView = z.object({
  id: SystemId,
  name: z.string(),
  description: z.string(),
  risk: RiskLevel,
  provider: z.string(),
  durationPresetsSeconds: z.array(z.number().int().positive()),
  maxDurationSeconds: z.number().int().positive(),
  /** The request must carry an SSH public key (the ssh provider signs it). */
  needsPublicKey: z.boolean(),
  /** A bundle: the systems one request for it gives access to, each with its own credential (null: a single system). */
  bundle: z.array(z.object({ id: SystemId, name: z.string(), provider: z.string() })).nullable().optional(),
  /** Approved grants wait for their requester to start them within this many seconds (null: they start at approval). */
  startWindowSeconds: z.number().int().positive().nullable().optional(),
  policy: PolicyPreview,
});
export type SystemView = z.infer<typeof SystemView>;

export const ReviewDecision = z.enum(['approve', 'deny']);
export type ReviewDecision = z.infer<typeof ReviewDecision>;

export const Review = z.object({
  id: Id,
  requestId: Id,
  reviewer: Person,
  decision: ReviewDecision,
  comment: z.string().nullable(),
  /** Set when the approver approved for less than was asked. */
  durationSeconds: z.number().int().positive().nullable().optional(),
  createdAt: Timestamp,
});
export type Review = z.infer<typeof Review>;

export const AccessRequest = z.object({
  id: Id,
  systemId: SystemId,
  requester: Person,
  /** What the grant is (or will be) for: as asked, or the shortest approval when an approver approved for less. */
  durationSeconds: z.number().int().positive(),
  /** What the requester asked for, set only when approvers approved for less (durationSeconds then says what was granted). */
  askedSeconds: z.number().int().positive().nullable().optional(),
  reason: z.string(),
  ticket: z.string().nullable(),
  breakGlass: z.boolean(),
  /** Set when this request asks to extend an existing grant rather than open a new one. */
  extendsGrantId: Id.nullable(),
  state: RequestState,
  approvalsRequired: z.number().int().nonnegative(),
  approverGroups: z.array(z.string()),
  reviews: z.array(Review),
  /** Break-glass and other after-the-fact checks: an auditor should look at this request. */
  flaggedForReview: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  pendingExpiresAt: Timestamp,
  /** The start time the requester named (a maintenance window): the grant starts by itself then. */
  startAt: Timestamp.nullable().optional(),
  grantId: Id.nullable(),
  /** Why it ended without access though approved: the provider's own refusal, in its words. */
  failureReason: z.string().nullable().optional(),
  /**
   * Why no one reviewed it: its requester was on call for the system's schedule (docs/on-call.md).
   */
  autoApprovedBy: z
    .object({ kind: z.literal('on-call'), source: z.string(), schedule: z.string(), shiftStart: Timestamp.nullable(), shiftEnd: Timestamp.nullable() })
    .nullable()
    .optional(),
  /**
   * For reviewers: the system approves whoever is on call, and the source was asked but did not
   * approve this one: not on call, asked for longer than on call covers, or the source failed.
   */
  onCallCheck: z
    .object({ source: z.string(), schedule: z.string(), outcome: z.enum(['not-on-call', 'too-long', 'failed']), words: z.string() })
    .nullable()
    .optional(),
  /** For reviewers: how many requests this requester made for this system in the 30 days before this one. */
  recentRequests: z.number().int().nonnegative().optional(),
});
export type AccessRequest = z.infer<typeof AccessRequest>;

export const Grant = z.object({
  id: Id,
  requestId: Id,
  systemId: SystemId,
  grantee: Person,
  provider: z.string(),
  state: GrantState,
  startsAt: Timestamp,
  expiresAt: Timestamp,
  endedAt: Timestamp.nullable(),
  endReason: GrantEndReason.nullable(),
  /** Names (never values) of the environment variables the credential sets. */
  envNames: z.array(z.string()),
  /** A ready grant: the latest time its requester may start it (null: it starts by itself at startAt). */
  startBy: Timestamp.nullable().optional(),
  /** A ready grant that starts by itself at a named time (a maintenance window). */
  startAt: Timestamp.nullable().optional(),
});
export type Grant = z.infer<typeof Grant>;

/** The secret material of a grant; only the grantee may read it, only while the grant is active. */
export const Credential = z.object({
  grantId: Id,
  systemId: SystemId,
  expiresAt: Timestamp,
  /** Named values for display or tools (host, user, certificate...); may include secrets. */
  fields: z.record(z.string(), z.string()),
  /** Environment variables a shell or `stint exec` sets for this grant. */
  env: z.record(z.string(), z.string()),
});
export type Credential = z.infer<typeof Credential>;

export const AuditEntry = z.object({
  seq: z.number().int().positive(),
  at: Timestamp,
  actor: z.string(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  detail: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
