// Named test doubles of contract values, for tests that serve a stand-in agent or render a
// screen: one pending request and one signed-in state, each changed only where a test says.
import type { AccessRequest, CoreState } from '@stint/contract';

/** A pending prod-db request made at 10:00, waiting for one approval from sre-leads. */
export function accessRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: '0195f0a0-0000-7000-8000-000000000001',
    systemId: 'prod-db',
    requester: { sub: 'alice', name: 'Alice', email: null },
    durationSeconds: 900,
    reason: 'x',
    ticket: null,
    breakGlass: false,
    extendsGrantId: null,
    state: 'pending',
    approvalsRequired: 1,
    approverGroups: ['sre-leads'],
    reviews: [],
    flaggedForReview: false,
    createdAt: '2026-12-02T10:00:00.000Z',
    updatedAt: '2026-12-02T10:00:00.000Z',
    pendingExpiresAt: '2026-12-02T11:00:00.000Z',
    grantId: null,
    ...overrides,
  };
}

/** Signed in, online, nothing in any list. */
export function coreState(overrides: Partial<CoreState> = {}): CoreState {
  return {
    serverUrl: 'http://127.0.0.1:8787',
    auth: { status: 'signed-in', user: { sub: 'bob', name: 'Bob', email: null, groups: ['sre-leads'], isAdmin: false, isAuditor: false }, message: null },
    connection: 'online',
    systems: [],
    myRequests: [],
    reviewQueue: [],
    grants: [],
    waiting: [],
    revision: 1,
    ...overrides,
  };
}
