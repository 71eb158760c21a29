// The state tables of requests and grants, and the one way to change either's state: a
// conditional UPDATE inside the caller's transaction that moves only rows still in the state
// the caller read (so a race loses cleanly instead of writing over the winner). Nothing else in
// the server sets a `state` column (transitions.test.ts checks the source for it); a move the
// table does not list is a type error at the call site, and refused at run time as well.
import type { GrantState, RequestState } from '@stint/contract';
import type { Kysely, Updateable } from 'kysely';
import type { Database, GrantRow, GrantsTable, RequestRow, RequestsTable } from '../store/schema';

/** Every allowed move of a request. Creation (pending, or approved by policy) is not a move. */
export const REQUEST_TRANSITIONS = {
  pending: ['approved', 'denied', 'cancelled', 'expired'],
  approved: ['active', 'revoked', 'expired'],
  active: ['expired', 'revoked'],
  expired: [],
  denied: [],
  cancelled: [],
  revoked: [],
} as const satisfies Record<RequestState, readonly RequestState[]>;

/**
 * Every allowed move of a grant. `revoking -> revoking` and `ended -> revoking` take back a
 * credential a slow provider delivered after its grant was given up (activation.ts). A ready
 * grant has no credential yet: it starts (issuing) or ends without one (unstarted, released,
 * revoked).
 */
export const GRANT_TRANSITIONS = {
  ready: ['issuing', 'ended'],
  issuing: ['active', 'revoking'],
  active: ['revoking'],
  revoking: ['ended', 'revoking'],
  ended: ['revoking'],
} as const satisfies Record<GrantState, readonly GrantState[]>;

export type RequestMove<F extends RequestState> = (typeof REQUEST_TRANSITIONS)[F][number];
export type GrantMove<F extends GrantState> = (typeof GRANT_TRANSITIONS)[F][number];

export const canMoveRequest = (from: RequestState, to: RequestState): boolean => (REQUEST_TRANSITIONS[from] as readonly RequestState[]).includes(to);
export const canMoveGrant = (from: GrantState, to: GrantState): boolean => (GRANT_TRANSITIONS[from] as readonly GrantState[]).includes(to);

export class TransitionError extends Error {
  constructor(entity: 'request' | 'grant', from: string, to: string) {
    super(`${/^[aeiou]/.test(from) ? 'An' : 'A'} ${from} ${entity} cannot become ${to}.`);
    this.name = 'TransitionError';
  }
}

/** Which requests: by their ids, or by the grants they own. */
export type WhichRequests = { ids: readonly string[] } | { grantIds: readonly string[] };
/** Which grants: by their ids, and (for an attempt that holds one) only under this lease. */
export type WhichGrants = { ids: readonly string[]; lease?: string | null };

/**
 * Moves the requests that are still `from` to `to` (and sets `changes` with it), inside the
 * caller's transaction; returns the rows it moved, as they are now.
 */
export async function moveRequests<F extends RequestState, T extends RequestMove<F>>(
  trx: Kysely<Database>,
  which: WhichRequests,
  from: F,
  to: T,
  changes: Omit<Updateable<RequestsTable>, 'state'> = {},
): Promise<RequestRow[]> {
  if (!canMoveRequest(from, to)) throw new TransitionError('request', from, to);
  const [column, keys] = 'ids' in which ? (['id', which.ids] as const) : (['grant_id', which.grantIds] as const);
  if (keys.length === 0) return [];
  return trx
    .updateTable('requests')
    .set({ ...changes, state: to })
    .where(column, 'in', [...keys])
    .where('state', '=', from)
    .returningAll()
    .execute();
}

/**
 * Moves the grants that are still `from` to `to` (and sets `changes` with it), inside the
 * caller's transaction; returns the rows it moved, as they are now.
 */
export async function moveGrants<F extends GrantState, T extends GrantMove<F>>(
  trx: Kysely<Database>,
  which: WhichGrants,
  from: F,
  to: T,
  changes: Omit<Updateable<GrantsTable>, 'state'> = {},
): Promise<GrantRow[]> {
  if (!canMoveGrant(from, to)) throw new TransitionError('grant', from, to);
  if (which.ids.length === 0) return [];
  let query = trx
    .updateTable('grants')
    .set({ ...changes, state: to })
    .where('id', 'in', [...which.ids])
    .where('state', '=', from);
  if (which.lease !== undefined) query = which.lease === null ? query.where('lease_owner', 'is', null) : query.where('lease_owner', '=', which.lease);
  return query.returningAll().execute();
}
