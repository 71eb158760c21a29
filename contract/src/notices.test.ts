// What the requester is told when an approver approved for less than was asked.
import { describe, expect, it } from 'vitest';
import { planNotification } from './notices';
import type { Settings } from './bridge';
import type { AccessRequest } from './domain';

const accessRequest = (patch: Partial<AccessRequest>): AccessRequest => ({
  id: '0195f0a0-0000-7000-8000-000000000001',
  systemId: 'prod-db',
  requester: { sub: 'alice', name: 'Alice Adams', email: null },
  durationSeconds: 900,
  reason: 'rotate the index',
  ticket: null,
  breakGlass: false,
  extendsGrantId: null,
  state: 'approved',
  approvalsRequired: 1,
  approverGroups: ['sre-leads'],
  reviews: [],
  flaggedForReview: false,
  createdAt: '2026-12-02T12:00:00Z',
  updatedAt: '2026-12-02T12:00:00Z',
  pendingExpiresAt: '2026-12-02T12:30:00Z',
  grantId: null,
  ...patch,
});

const settings = { decisions: true, reviews: true, reminders: true, receipts: true } as unknown as Settings['notifications'];
const names = (id: string) => (id === 'prod-db' ? 'Production database' : id);

describe('the approval notice', () => {
  it('says what was granted against what was asked, and who shortened it and why', () => {
    const bob = { sub: 'bob', name: 'Bob Brown', email: null };
    const request = accessRequest({
      state: 'approved',
      durationSeconds: 1800,
      askedSeconds: 7200,
      reviews: [{ id: '0195f0a0-0000-7000-8000-0000000000aa', requestId: '0195f0a0-0000-7000-8000-000000000001', reviewer: bob, decision: 'approve', comment: 'half an hour is enough', durationSeconds: 1800, createdAt: '2026-12-02T12:00:00Z' }],
    });
    const plan = planNotification({ kind: 'request-approved', request }, settings, 'linux', names);
    expect(plan?.body).toBe('Approved for 30m of the 2h you asked (Bob Brown: “half an hour is enough”); the credential is on its way to your keychain.');
  });

  it('says nothing of less when approved as asked', () => {
    const plan = planNotification({ kind: 'request-approved', request: accessRequest({ state: 'approved', durationSeconds: 900 }) }, settings, 'linux', names);
    expect(plan?.body).toBe('Your 15m request was approved; the credential is on its way to your keychain.');
  });
});
