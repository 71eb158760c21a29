import type { Generated, Insertable, Selectable } from 'kysely';

/**
 * Tables as Kysely sees them. Times are epoch milliseconds (bigint in PostgreSQL, INTEGER in
 * SQLite), booleans are 0/1 and lists are JSON text, so one schema serves both engines.
 */
export interface RequestsTable {
  id: string;
  system_id: string;
  requester_sub: string;
  requester_name: string | null;
  /** The IdP's login claim when it differs from sub (migration 0003); null: use sub. */
  requester_login: string | null;
  requester_email: string | null;
  requester_groups: string;
  /** What the grant is for: as asked, or less when an approver approved for less. */
  duration_seconds: number;
  /** What the requester asked for, when an approver approved for less (migration 0006); null: as asked. */
  asked_seconds: number | null;
  /** Start at this time (a maintenance window) rather than at approval (migration 0008); null: at approval or when started. */
  start_at: number | null;
  /** Why no one reviewed it, as JSON (AccessRequest.autoApprovedBy; migration 0007); null: reviewed, or approved by group. */
  auto_approved_by: string | null;
  /** What the on-call source said when it did not approve, as JSON (AccessRequest.onCallCheck; migration 0010); null: not asked, or approved. */
  on_call_check: string | null;
  reason: string;
  ticket: string | null;
  break_glass: number;
  extends_grant_id: string | null;
  public_key: string | null;
  state: string;
  approvals_required: number;
  approver_groups: string;
  flagged: number;
  created_at: number;
  updated_at: number;
  pending_expires_at: number;
  grant_id: string | null;
  /** Why an approved request ended without access (the provider refused), for the requester. */
  failure_reason: string | null;
}

export interface ReviewsTable {
  id: string;
  request_id: string;
  reviewer_sub: string;
  reviewer_name: string | null;
  reviewer_email: string | null;
  decision: string;
  comment: string | null;
  /** An approval for less than was asked (migration 0006); null: for what was asked. */
  duration_seconds: number | null;
  created_at: number;
}

export interface GrantsTable {
  id: string;
  request_id: string;
  system_id: string;
  grantee_sub: string;
  grantee_name: string | null;
  grantee_email: string | null;
  provider: string;
  state: string;
  /** A ready grant: the latest its requester may start it (migration 0008); null: not waiting, or it starts at the request's start_at. */
  start_by: number | null;
  starts_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: string | null;
  env_names: string;
  /** AES-256-GCM sealed credential; cleared when the grant ends. */
  credential_sealed: string | null;
  /** What the provider needs to revoke (role name, certificate serial...); never secret. */
  provider_state: string | null;
  warned: number;
  revoke_attempts: number;
  /** Issue attempts that failed in a way a retry may get past (the provider was down). */
  issue_attempts: Generated<number>;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  revoke_count: number;
  last_error: string | null;
  /** providerKey() of the configuration that issued it (null on grants older than the column). */
  provider_key: string | null;
  /** That system's configuration as JSON (secrets only by reference), to rebuild its provider. */
  system_config: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  /** JSON {subs, groups, notSubs}: who may receive the event. */
  audience: string;
  payload: string;
}

export interface AuditTable {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  detail: string;
  prev_hash: string;
  hash: string;
}

/** How far each audit sink has been delivered (migration 0009; audit/sink.ts). */
export interface AuditSinkCursorTable {
  /** The sink's name in the configuration (auditSink.name). */
  sink: string;
  /** The last audit seq the sink accepted; delivery goes on from the next. */
  delivered_seq: number;
  /** The replica delivering now, until lease_until: one at a time, in order. */
  lease_owner: string | null;
  lease_until: number | null;
  updated_at: number;
  /** Why the last attempt failed, for people; null after a success. */
  last_error: string | null;
}

export interface IdempotencyTable {
  user_sub: string;
  key: string;
  body_hash: string;
  request_id: string;
  created_at: number;
}

export interface Database {
  requests: RequestsTable;
  reviews: ReviewsTable;
  grants: GrantsTable;
  events: EventsTable;
  audit: AuditTable;
  idempotency: IdempotencyTable;
  audit_sink_cursor: AuditSinkCursorTable;
  /** Always empty (see the 0005 migration and write-probe.ts). */
  write_probe: { filler: string };
}

export type RequestRow = Selectable<RequestsTable>;
export type ReviewRow = Selectable<ReviewsTable>;
export type GrantRow = Selectable<GrantsTable>;
export type EventRow = Selectable<EventsTable>;
export type AuditRow = Selectable<AuditTable>;
export type NewRequestRow = Insertable<RequestsTable>;
export type NewGrantRow = Insertable<GrantsTable>;
