import { describe, expect, it } from 'vitest';
import { noticeLine } from './index';

describe("the headless agent's notices", () => {
  it('logs who asks for what, so an approver running only the agent sees a review waiting', () => {
    const request = { id: 'r-1', systemId: 'prod-db', requester: { sub: 'alice', name: 'Alice' } } as never;
    expect(noticeLine({ kind: 'review-requested', request })).toBe('notice review-requested: prod-db request r-1 by alice');
  });
  it('says what a wipe removed, and how to extend when a reminder allows it', () => {
    expect(noticeLine({ kind: 'grant-wiped', grantId: 'g-1', systemId: 'prod-db', reason: 'expired', wiped: ['keychain item', 'PGPASSWORD'], at: '2026-11-30T10:00:00.000Z' })).toBe(
      'notice grant-wiped: prod-db grant g-1 (expired); removed keychain item, PGPASSWORD',
    );
    const grant = { grantId: 'g-2', systemId: 'demo-sandbox' } as never;
    expect(noticeLine({ kind: 'grant-reminder', grant, secondsLeft: 60, canExtend: true })).toContain('stint extend demo-sandbox');
    expect(noticeLine({ kind: 'grant-reminder', grant, secondsLeft: 60, canExtend: false })).not.toContain('extend');
  });
});
