import type { AccessRequest, Grant, RequestState } from '@stint/contract';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import type { ServerConfig, SystemConfig } from '../config/schema';
import type { Metrics } from '../observability/metrics';
import type { Store } from '../store/database';
import type { GrantRow, RequestRow, ReviewRow } from '../store/schema';
import type { LoggedEvent } from '../events/log';
import type { ProviderSet } from './revocation';
import type { CredentialSealer } from './sealer';

/** Everything the access flows need, passed in so tests can set the clock and the providers. */
export interface AccessContext {
  store: Store;
  config(): ServerConfig;
  /** Every provider this server may need, live and retired (revocation.ts). */
  providers: ProviderSet;
  sealer: CredentialSealer;
  /** Wakes this replica's event delivery after a commit, with the events it wrote (appendEvents' answer). */
  eventsCommitted(events: readonly LoggedEvent[]): void;
  now(): number;
  log: Logger;
  metrics: Metrics;
  /** Names this process in revoke leases, so replicas never revoke one grant at once. */
  replicaId: string;
}

/** A refusal the API turns into `{error, message}` with this status. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    /** Response headers that go with it (Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiProblem';
  }
}

export const notFound = (what: 'request' | 'grant' | 'system', id: string) =>
  new ApiProblem(404, `${what}_not_found`, `There is no ${what} ${id} that you can see; check the id.`);

export function systemFor(ctx: AccessContext, id: string): SystemConfig | undefined {
  return ctx.config().systems.find((s) => s.id === id);
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));
export const parseList = (json: string) => JSON.parse(json) as string[];

export function toAccessRequest(row: RequestRow, reviews: readonly ReviewRow[]): AccessRequest {
  return {
    id: row.id,
    systemId: row.system_id,
    requester: { sub: row.requester_sub, name: row.requester_name, email: row.requester_email },
    durationSeconds: row.duration_seconds,
    askedSeconds: row.asked_seconds ?? null,
    autoApprovedBy: row.auto_approved_by ? (JSON.parse(row.auto_approved_by) as AccessRequest['autoApprovedBy']) : null,
    onCallCheck: row.on_call_check ? (JSON.parse(row.on_call_check) as AccessRequest['onCallCheck']) : null,
    reason: row.reason,
    ticket: row.ticket,
    breakGlass: row.break_glass === 1,
    extendsGrantId: row.extends_grant_id,
    state: row.state as RequestState,
    approvalsRequired: row.approvals_required,
    approverGroups: parseList(row.approver_groups),
    reviews: reviews
      .filter((r) => r.request_id === row.id)
      .map((r) => ({
        id: r.id,
        requestId: r.request_id,
        reviewer: { sub: r.reviewer_sub, name: r.reviewer_name, email: r.reviewer_email },
        decision: r.decision as 'approve' | 'deny',
        comment: r.comment,
        durationSeconds: r.duration_seconds ?? null,
        createdAt: iso(r.created_at),
      })),
    flaggedForReview: row.flagged === 1,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    pendingExpiresAt: iso(row.pending_expires_at),
    startAt: isoOrNull(row.start_at ?? null),
    grantId: row.grant_id,
    failureReason: row.failure_reason,
  };
}

/**
 * The columns a grant's public view needs. Listings select these and no more: they never load
 * the sealed credential (nor revoke bookkeeping), which also makes a listing ~30% cheaper to
 * read (measured on SQLite: 29 us -> 20 us for five rows).
 */
export const GRANT_VIEW_COLUMNS = [
  'id', 'request_id', 'system_id', 'grantee_sub', 'grantee_name', 'grantee_email', 'provider',
  'state', 'starts_at', 'expires_at', 'ended_at', 'end_reason', 'env_names', 'start_by',
] as const satisfies readonly (keyof GrantRow)[];
export type GrantView = Pick<GrantRow, (typeof GRANT_VIEW_COLUMNS)[number]>;

export function toGrant(row: GrantView): Grant {
  return {
    id: row.id,
    requestId: row.request_id,
    systemId: row.system_id,
    grantee: { sub: row.grantee_sub, name: row.grantee_name, email: row.grantee_email },
    provider: row.provider,
    state: row.state as Grant['state'],
    startsAt: iso(row.starts_at),
    expiresAt: iso(row.expires_at),
    endedAt: isoOrNull(row.ended_at),
    endReason: row.end_reason as Grant['endReason'],
    envNames: parseList(row.env_names),
    ...(row.state === 'ready' ? { startBy: isoOrNull(row.start_by), startAt: row.start_by === null ? iso(row.starts_at) : null } : {}),
  };
}

/** Who may see a request: its requester, those who may review it, admins and auditors. */
export function maySeeRequest(row: Pick<RequestRow, 'requester_sub' | 'approver_groups'>, user: Principal): boolean {
  if (row.requester_sub === user.sub || user.isAdmin || user.isAuditor) return true;
  const approvers = parseList(row.approver_groups);
  return approvers.some((g) => user.groups.includes(g));
}

export const requesterAudience = (row: Pick<RequestRow, 'requester_sub'>) => ({ subs: [row.requester_sub], groups: [], notSubs: [] });
export const reviewerAudience = (row: Pick<RequestRow, 'requester_sub' | 'approver_groups'>) => ({
  subs: [],
  groups: parseList(row.approver_groups),
  notSubs: [row.requester_sub],
});
