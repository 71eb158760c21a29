import { RequestState } from '@stint/contract';
import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, isPendingExpired, stateAfterReviews } from './request-machine';

describe('request state machine', () => {
  it('allows the lifecycle and nothing out of terminal states', () => {
    expect(canTransition('pending', 'approved')).toBe(true);
    expect(canTransition('approved', 'active')).toBe(true);
    expect(canTransition('active', 'expired')).toBe(true);
    for (const end of ['expired', 'denied', 'cancelled', 'revoked'] as const) {
      for (const to of RequestState.options) expect(canTransition(end, to)).toBe(false);
    }
    expect(() => assertTransition('denied', 'approved')).toThrow(/denied request cannot become approved/);
    expect(canTransition('pending', 'active')).toBe(false);
  });

  it('counts one person once, needs N distinct approvals, and one denial ends it', () => {
    const approve = (who: string) => ({ reviewerSub: who, decision: 'approve' as const });
    expect(stateAfterReviews(2, [approve('bob')])).toBe('pending');
    expect(stateAfterReviews(2, [approve('bob'), approve('bob')])).toBe('pending');
    expect(stateAfterReviews(2, [approve('bob'), approve('carol')])).toBe('approved');
    expect(stateAfterReviews(2, [approve('bob'), { reviewerSub: 'carol', decision: 'deny' }])).toBe('denied');
  });

  it('expires pending requests exactly at their TTL', () => {
    expect(isPendingExpired(1000, 999)).toBe(false);
    expect(isPendingExpired(1000, 1000)).toBe(true);
  });
});
