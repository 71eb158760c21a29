import type { RequestState, ReviewDecision } from '@stint/contract';
import { canMoveRequest } from './transitions';

/** Whether the table in transitions.ts lets a request move from one state to the other. */
export const canTransition = (from: RequestState, to: RequestState): boolean => canMoveRequest(from, to);

export class TransitionError extends Error {
  constructor(
    readonly from: RequestState,
    readonly to: RequestState,
  ) {
    super(`A ${from} request cannot become ${to}.`);
  }
}

export function assertTransition(from: RequestState, to: RequestState): void {
  if (!canTransition(from, to)) throw new TransitionError(from, to);
}

/**
 * The state a pending request reaches after its reviews: one denial ends it; N approvals from
 * distinct people approve it. Duplicate reviews by one person count once.
 */
export function stateAfterReviews(
  approvalsRequired: number,
  reviews: readonly { reviewerSub: string; decision: ReviewDecision }[],
): 'pending' | 'approved' | 'denied' {
  if (reviews.some((r) => r.decision === 'deny')) return 'denied';
  const approvers = new Set(reviews.filter((r) => r.decision === 'approve').map((r) => r.reviewerSub));
  return approvers.size >= approvalsRequired ? 'approved' : 'pending';
}

/** Whether a pending request has outlived its time-to-live at `now`. */
export const isPendingExpired = (pendingExpiresAt: number, now: number) => now >= pendingExpiresAt;
