import { z } from 'zod';
import { safeText } from './schemas';
import { AccessRequest, AuditEntry, Credential, Grant, Id, Me, ReviewDecision, SystemId, SystemView } from './domain';

/** Every 4xx/5xx body. `message` says what happened and what to do; it never carries internals. */
export const ApiError = z.object({
  error: z.string(),
  message: z.string(),
  details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ApiError = z.infer<typeof ApiError>;

// Free text is checked after trimming: no control or bidi characters (text.ts names the threat);
// reasons and comments may span lines, tickets and keys may not.
const Reason = safeText({ multiline: true }).max(1000, 'a reason is at most 1000 characters');
const Ticket = safeText({ multiline: false }).min(1).max(200);
const Comment = safeText({ multiline: true }).max(1000, 'a comment is at most 1000 characters');

export const CreateRequestBody = z.strictObject({
  systemId: SystemId,
  durationSeconds: z.number().int().positive().max(31 * 86_400),
  reason: Reason.default(''),
  ticket: Ticket.optional(),
  breakGlass: z.boolean().default(false),
  /** OpenSSH public key to certify; required by systems whose provider signs keys. */
  publicKey: safeText({ multiline: false }).max(16_384).optional(),
  /** Start at this time (a maintenance window) instead of at approval; at most 7 days ahead. */
  startAt: z.iso.datetime({ offset: true }).optional(),
});
export type CreateRequestBody = z.input<typeof CreateRequestBody>;

export const ReviewBody = z.strictObject({
  decision: ReviewDecision,
  comment: Comment.optional(),
  /** Approve for less than was asked (never more); only with decision "approve". */
  durationSeconds: z.number().int().positive().max(31 * 86_400).optional(),
});
export type ReviewBody = z.input<typeof ReviewBody>;

export const ExtendBody = z.strictObject({
  durationSeconds: z.number().int().positive().max(31 * 86_400),
  reason: Reason.default(''),
  ticket: Ticket.optional(),
});
export type ExtendBody = z.input<typeof ExtendBody>;

export const RevokeBody = z.strictObject({ reason: Reason.default('') });

export const RequestScope = z.enum(['mine', 'review', 'all']);
export const GrantScope = z.enum(['mine', 'all']);
export const RequestListQuery = z.strictObject({
  scope: RequestScope.default('mine'),
  state: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const GrantListQuery = z.strictObject({
  scope: GrantScope.default('mine'),
  active: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const IdParams = z.strictObject({ id: Id });
export const AuditQuery = z.strictObject({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  /**
   * Only these rows: up to 50 comma-separated sequence numbers, as an insights figure's evidence
   * carries them (`seqs=12,40,41`). Rows that do not exist are left out, not an error.
   */
  seqs: z
    .string()
    .regex(/^[1-9]\d{0,14}(,[1-9]\d{0,14}){0,49}$/, 'seqs is up to 50 comma-separated sequence numbers (12,40,41)')
    .optional(),
});
export const AuditExportQuery = z.strictObject({ format: z.enum(['jsonl', 'csv']).default('jsonl') });

export const MeResponse = Me;
export const SystemsResponse = z.object({ systems: z.array(SystemView) });
export const RequestResponse = z.object({ request: AccessRequest, grant: Grant.nullable() });
export type RequestResponse = z.infer<typeof RequestResponse>;
export const RequestsResponse = z.object({ requests: z.array(AccessRequest) });
export const GrantResponse = z.object({ grant: Grant });
export const GrantsResponse = z.object({ grants: z.array(Grant) });
export const CredentialResponse = z.object({ credential: Credential });
export const AuditResponse = z.object({ entries: z.array(AuditEntry) });

/** What a desktop app needs to sign in: the IdP and the public client registered for Stint. */
export const ClientConfigResponse = z.object({
  issuer: z.string(),
  clientId: z.string(),
  scopes: z.array(z.string()),
  /** Extra authorization parameters some IdPs need for an API audience (e.g. resource, audience). */
  authorizationParams: z.record(z.string(), z.string()),
  /** Fixed loopback ports for the sign-in redirect, tried in order; empty: any free port. */
  redirectPorts: z.array(z.number().int().min(1).max(65535)).default([]),
  /** The IdP wants a client secret from the app; each person's app keeps it in the OS keychain. */
  clientSecretRequired: z.boolean().default(false),
  /** The server reads groups from the ID token: the app sends it beside the access token, in X-Stint-Id-Token. */
  sendIdToken: z.boolean().default(false),
});
export type ClientConfigResponse = z.infer<typeof ClientConfigResponse>;

export const HealthResponse = z.object({ status: z.literal('ok') });
export const ReadyResponse = z.object({
  status: z.enum(['ready', 'unready']),
  checks: z.record(z.string(), z.boolean()),
  /** One line per check for people: e.g. how long the IdP has been unreachable and how long its last keys still serve. */
  detail: z.record(z.string(), z.string()).optional(),
});

export const API_PREFIX = '/v1';
export { Id };
