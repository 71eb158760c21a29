import { z } from 'zod';
import { safeText } from './schemas';
import { AccessRequest, AuditEntry, Grant, Id, Me, ReviewDecision, SystemId, SystemView, Timestamp } from './domain';
import { INSIGHTS_EVIDENCE_LIMIT, InsightsQuery, InsightsResponse } from './insights';

/** A grant as the desktop holds it: deadline and what is stored, never the secret itself. */
export const LocalGrant = z.object({
  grantId: Id,
  requestId: Id,
  systemId: SystemId,
  startsAt: Timestamp,
  expiresAt: Timestamp,
  state: Grant.shape.state,
  /** Names of the environment variables the credential sets (values stay in the keychain). */
  envNames: z.array(z.string()),
  /** The credential is in the OS keychain right now. */
  stored: z.boolean(),
  /** An SSH key for this grant is loaded in the running ssh-agent. */
  inAgent: z.boolean(),
});
export type LocalGrant = z.infer<typeof LocalGrant>;

/**
 * An approved grant that waits to be started (start when ready): by its requester before
 * `startBy`, or by itself at `startAt`, the time the request named. No credential exists yet.
 */
export const WaitingGrant = z.object({
  grantId: Id,
  requestId: Id,
  systemId: SystemId,
  durationSeconds: z.number().int().positive(),
  startBy: Timestamp.nullable(),
  startAt: Timestamp.nullable(),
});
export type WaitingGrant = z.infer<typeof WaitingGrant>;

export const AuthStatus = z.enum(['signed-out', 'signing-in', 'signed-in', 'sign-in-needed']);
export type AuthStatus = z.infer<typeof AuthStatus>;

/** Everything the UI, the tray and the CLI show, in one observable value. */
export const CoreState = z.object({
  serverUrl: z.string(),
  auth: z.object({
    status: AuthStatus,
    user: Me.nullable(),
    message: z.string().nullable(),
    /** While signing in: the IdP address the browser was sent to, to copy when no browser opened. */
    signInUrl: z.string().nullable().optional(),
  }),
  connection: z.enum(['online', 'connecting', 'offline']),
  systems: z.array(SystemView),
  myRequests: z.array(AccessRequest),
  reviewQueue: z.array(AccessRequest),
  grants: z.array(LocalGrant),
  /** Approved grants waiting for their start (the Start button; none has a credential yet). */
  waiting: z.array(WaitingGrant),
  /** Changes whenever the set of active grants changes (shell hooks compare it). */
  revision: z.number().int().nonnegative(),
});
export type CoreState = z.infer<typeof CoreState>;

/** Things worth telling a person about (desktop notification, CLI line, UI toast). */
export const Notice = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('review-requested'), request: AccessRequest }),
  z.object({ kind: z.literal('request-approved'), request: AccessRequest }),
  z.object({ kind: z.literal('request-denied'), request: AccessRequest }),
  z.object({ kind: z.literal('request-expired'), request: AccessRequest }),
  z.object({ kind: z.literal('grant-active'), grant: LocalGrant }),
  /** Approved, and waiting for its requester to start it (or for its start time). */
  z.object({ kind: z.literal('grant-waiting'), grant: WaitingGrant }),
  /** Approved, but not started within its start window: it ended with nothing issued. */
  z.object({ kind: z.literal('grant-unstarted'), grantId: Id, requestId: Id, systemId: SystemId }),
  z.object({ kind: z.literal('grant-reminder'), grant: LocalGrant, secondsLeft: z.number().int().nonnegative(), canExtend: z.boolean() }),
  /** The receipt: what was wiped from this machine, and why. */
  z.object({
    kind: z.literal('grant-wiped'),
    grantId: Id,
    systemId: SystemId,
    reason: z.enum(['expired', 'released', 'revoked', 'signed-out', 'failed']),
    wiped: z.array(z.string()),
    at: Timestamp,
  }),
  z.object({ kind: z.literal('error'), message: z.string() }),
]);
export type Notice = z.infer<typeof Notice>;

export const Settings = z.object({
  serverUrl: z.string().url(),
  /** Reminders before each deadline, in seconds. */
  remindersSeconds: z.array(z.number().int().positive()).max(5),
  notifications: z.object({
    reviews: z.boolean(),
    decisions: z.boolean(),
    reminders: z.boolean(),
    receipts: z.boolean(),
  }),
  /** One-click requests: system, duration and reason remembered. */
  /** One-click requests: everything the policy asked for when pinned (the ticket too). */
  pinned: z
    .array(z.object({ systemId: SystemId, durationSeconds: z.number().int().positive(), reason: safeText({ multiline: true }).max(1000), ticket: safeText({ multiline: false }).min(1).max(200).optional() }))
    .max(20),
  startAtLogin: z.boolean(),
});
export type Settings = z.infer<typeof Settings>;
export const SettingsPatch = Settings.partial().strict();

export const RequestInput = z.strictObject({
  systemId: SystemId,
  durationSeconds: z.number().int().positive(),
  reason: safeText({ multiline: true }).max(1000).default(''),
  ticket: safeText({ multiline: false }).max(200).optional(),
  breakGlass: z.boolean().default(false),
  /** Start at this time (a maintenance window) rather than at approval; within 7 days. */
  startAt: Timestamp.optional(),
});
export const ReviewInput = z.strictObject({
  requestId: Id,
  decision: ReviewDecision,
  comment: safeText({ multiline: true }).max(1000).optional(),
  /** Approve for less than was asked (the server refuses more). */
  durationSeconds: z.number().int().positive().optional(),
});
/** An extension: empty reason and no ticket reuse the grant's own (the server fills them in). */
export const ExtendInput = z.strictObject({
  grantId: Id,
  durationSeconds: z.number().int().positive(),
  reason: safeText({ multiline: true }).max(1000).default(''),
  ticket: safeText({ multiline: false }).min(1).max(200).optional(),
});

/**
 * A request in the person's history, with the times of the grant it opened or extended (from
 * their own grants list): what "time used of time granted" is worked out from. Null while there
 * is no grant, or when the grant is older than the grants listed.
 */
export const HistoryEntry = AccessRequest.extend({
  grant: Grant.pick({ state: true, startsAt: true, expiresAt: true, endedAt: true, endReason: true }).nullable(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** Audit rows by sequence number: the evidence behind an insights figure. */
export const AuditRowsInput = z.strictObject({ seqs: z.array(z.number().int().positive()).min(1).max(INSIGHTS_EVIDENCE_LIMIT) });

const call = <I extends z.ZodType, O extends z.ZodType>(input: I, output: O) => ({ input, output });
const Nothing = z.strictObject({});
const Done = z.object({ ok: z.literal(true) });

/**
 * StintBridge: every call the UI may make, with its input and output schema. The preload (IPC)
 * and the web-mode WebSocket expose exactly these; main and core validate both directions.
 * Nothing here returns a credential's secret: the UI never sees one.
 */
export const BridgeCalls = {
  getState: call(Nothing, CoreState),
  signIn: call(Nothing, Done),
  /** Ends a sign-in that is waiting for the browser; Sign in works again at once. */
  cancelSignIn: call(Nothing, Done),
  signOut: call(Nothing, Done),
  request: call(RequestInput, AccessRequest),
  review: call(ReviewInput, AccessRequest),
  cancel: call(z.strictObject({ requestId: Id }), AccessRequest),
  release: call(z.strictObject({ grantId: Id }), Done),
  /** Starts a waiting grant now: its countdown begins and the credential is fetched. */
  start: call(z.strictObject({ grantId: Id }), AccessRequest),
  extend: call(ExtendInput, AccessRequest),
  history: call(Nothing, z.array(HistoryEntry)),
  /** Figures from the audit log for a period (auditors and admins; the server refuses anyone else). */
  insights: call(InsightsQuery, InsightsResponse),
  /** The audit rows behind a figure, oldest first (auditors and admins). */
  auditRows: call(AuditRowsInput, z.object({ entries: z.array(AuditEntry) })),
  getSettings: call(Nothing, Settings),
  updateSettings: call(SettingsPatch, Settings),
} as const;
export type BridgeMethod = keyof typeof BridgeCalls;
export type BridgeInput<M extends BridgeMethod> = z.input<(typeof BridgeCalls)[M]['input']>;
export type BridgeOutput<M extends BridgeMethod> = z.output<(typeof BridgeCalls)[M]['output']>;

/** The typed client the renderer holds; implemented over IPC (Electron) or a WebSocket (web mode). */
export interface StintBridge {
  call<M extends BridgeMethod>(method: M, input: BridgeInput<M>): Promise<BridgeOutput<M>>;
  onState(listener: (state: CoreState) => void): () => void;
  onNotice(listener: (notice: Notice) => void): () => void;
}

/** Errors cross the bridge as data: a code a program can test and a message a person can act on. */
export const BridgeError = z.object({ code: z.string(), message: z.string() });
export type BridgeError = z.infer<typeof BridgeError>;

export const BridgeRequest = z.strictObject({ id: z.number().int().nonnegative(), method: z.string(), input: z.unknown() });
export const BridgeReply = z.union([
  z.strictObject({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ id: z.number().int(), ok: z.literal(false), error: BridgeError }),
]);
export const BridgePush = z.union([
  z.strictObject({ push: z.literal('state'), state: CoreState }),
  z.strictObject({ push: z.literal('notice'), notice: Notice }),
]);

/** What `stint env` and `stint exec` receive: values only over the user's own local socket. */
export const GrantEnv = z.object({
  grantId: Id,
  systemId: SystemId,
  expiresAt: Timestamp,
  env: z.record(z.string(), z.string()),
});
export type GrantEnv = z.infer<typeof GrantEnv>;

/**
 * The local socket (CLI and shell hooks -> core): newline-delimited JSON, one request per line,
 * one reply per request. It offers the bridge's calls plus `env`, which returns secrets and is
 * therefore only on the socket (a 0600 file in a 0700 folder), never on the UI bridge.
 */
export const SocketCalls = {
  ...BridgeCalls,
  env: call(z.strictObject({ systems: z.array(SystemId).default([]) }), z.object({ grants: z.array(GrantEnv) })),
  /**
   * A fresh one-time address of the web-mode UI (`stint ui`); with `open`, Stint also opens it
   * in the browser. Socket only: the address is a credential for a few seconds.
   */
  webLink: call(z.strictObject({ open: z.boolean().default(false) }), z.object({ url: z.string() })),
  /**
   * Keeps the client secret an IdP wants from this app in the OS keychain (`stint login
   * --client-secret-stdin`). Socket only: the secret never passes through a UI page.
   */
  setClientSecret: call(z.strictObject({ secret: z.string().min(1).max(4096) }), Done),
} as const;
export type SocketMethod = keyof typeof SocketCalls;
