// What each live event from the server changes here: the request lists, a notice, or a grant's
// credential (fetched or wiped by the grant sync).
import type { AccessRequest, CoreState, StintEventEnvelope } from '@stint/contract';
import type { GrantSync } from './grants/grant-sync';
import type { WaitingGrants } from './grants/waiting';
import type { StateHub } from './state-hub';

export type RequestList = 'myRequests' | 'reviewQueue';

const ENDED_UNGRANTED = new Set(['denied', 'cancelled', 'expired', 'revoked']);
const NOTICE_FOR = { approved: 'request-approved', denied: 'request-denied', expired: 'request-expired' } as const;

/**
 * Puts a request's latest version in its list (newest first); the review queue keeps only
 * what is still pending. Returns true when it is the person's own request that ended without
 * ever becoming a grant (its SSH key pair, if any, has no use left).
 */
export function upsertRequest(state: StateHub, list: RequestList, request: AccessRequest): boolean {
  const others = state.get()[list].filter((r) => r.id !== request.id);
  const keep = list === 'reviewQueue' ? request.state === 'pending' : true;
  const next = keep ? [request, ...others] : others;
  next.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  state.patch({ [list]: next } as Partial<CoreState>);
  return list === 'myRequests' && ENDED_UNGRANTED.has(request.state) && !request.grantId;
}

/**
 * An approved request whose grant will wait to be started: its "ready to start" notice says
 * the approval, so "approved" is not said twice.
 */
function waitsToStart(state: CoreState, request: AccessRequest): boolean {
  if (request.extendsGrantId) return false;
  return Boolean(request.startAt) || Boolean(state.systems.find((s) => s.id === request.systemId)?.startWindowSeconds);
}

export interface EventTargets {
  state: StateHub;
  grants: GrantSync;
  waiting: WaitingGrants;
  /** A request of the person's own was put in its list (see upsertRequest's answer). */
  upsertMine: (request: AccessRequest) => void;
}

export async function routeEvent({ event }: StintEventEnvelope, { state, grants, waiting, upsertMine }: EventTargets): Promise<void> {
  switch (event.type) {
    case 'review.requested':
      upsertRequest(state, 'reviewQueue', event.request);
      state.notice({ kind: 'review-requested', request: event.request });
      return;
    case 'review.updated':
      upsertRequest(state, 'reviewQueue', event.request);
      return;
    case 'request.updated': {
      upsertMine(event.request);
      const kind = NOTICE_FOR[event.request.state as keyof typeof NOTICE_FOR];
      // An expired request that became a grant ended as a grant; its receipt says so.
      const said = (event.request.state === 'expired' && event.request.grantId) || (event.request.state === 'approved' && waitsToStart(state.get(), event.request));
      if (kind && !said) state.notice({ kind, request: event.request });
      return;
    }
    case 'grant.activated':
      waiting.drop(event.grant.id);
      await grants.store(event.grant);
      return;
    case 'grant.extended':
      await grants.store(event.grant, true);
      return;
    case 'grant.expiring':
      return; // the expiry clock reminds on the user's own schedule
    case 'grant.ready':
      waiting.add(event.grant); // nothing to fetch until it starts
      return;
    case 'grant.ended':
      // A grant that never started had no credential here to wipe; its requester is told it lapsed.
      if (waiting.drop(event.grant.id) && event.grant.endReason === 'unstarted') {
        state.notice({ kind: 'grant-unstarted', grantId: event.grant.id, requestId: event.grant.requestId, systemId: event.grant.systemId });
      }
      if (event.grant.endReason !== 'unstarted') await grants.wipe(event.grant.id, event.grant.endReason ?? 'revoked');
      return;
  }
}
