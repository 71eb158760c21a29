// Named builders of core state for the electron/ unit tests (contract-valid: each is parsed).
import { AccessRequest, CoreState, LocalGrant, type SystemView, type WaitingGrant } from '@stint/contract';

export const NOW = Date.parse('2026-11-24T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
let counter = 0;
export const uuid = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;

export function system(id: string, presets: number[] = [900, 1800, 3600], overrides: Partial<SystemView> = {}): SystemView {
  return {
    id,
    name: id,
    description: '',
    risk: 'medium',
    provider: 'demo',
    durationPresetsSeconds: presets,
    maxDurationSeconds: 4 * 3600,
    needsPublicKey: false,
    policy: {
      approvalsRequired: 1,
      approverGroups: ['sre'],
      autoApproveUpToSeconds: null,
      breakGlassAllowed: false,
      justification: 'required',
      ticketPattern: null,
      pendingTtlSeconds: 3600,
    },
    ...overrides,
  };
}

export function grant(systemId: string, msLeft: number, overrides: Partial<LocalGrant> = {}): LocalGrant {
  return LocalGrant.parse({
    grantId: uuid(),
    requestId: uuid(),
    systemId,
    startsAt: iso(NOW - 60_000),
    expiresAt: iso(NOW + msLeft),
    state: 'active',
    envNames: ['PGPASSWORD'],
    stored: true,
    inAgent: false,
    ...overrides,
  });
}

export function request(systemId: string, overrides: Partial<AccessRequest> = {}): AccessRequest {
  return AccessRequest.parse({
    id: uuid(),
    systemId,
    requester: { sub: 'u-ada', name: 'Ada', email: 'ada@example.com' },
    durationSeconds: 1800,
    reason: 'INC-42 failover',
    ticket: null,
    breakGlass: false,
    extendsGrantId: null,
    state: 'pending',
    approvalsRequired: 1,
    approverGroups: ['sre'],
    reviews: [],
    flaggedForReview: false,
    createdAt: iso(NOW - 3_600_000),
    updatedAt: iso(NOW - 3_600_000),
    pendingExpiresAt: iso(NOW + 3_600_000),
    grantId: null,
    ...overrides,
  });
}

export function state(overrides: Partial<CoreState> = {}): CoreState {
  return CoreState.parse({
    serverUrl: 'https://stint.example.com',
    auth: { status: 'signed-in', user: { sub: 'u-grace', name: 'Grace', email: 'grace@example.com', groups: ['sre'], isAdmin: false, isAuditor: false }, message: null },
    connection: 'online',
    systems: [system('prod-db'), system('staging-ssh', [600, 3600])],
    myRequests: [],
    reviewQueue: [],
    grants: [],
    waiting: [],
    revision: 0,
    ...overrides,
  });
}

export const ALL_NOTIFICATIONS = { reviews: true, decisions: true, reminders: true, receipts: true };

/** An approval waiting to be started: by its requester within `msToStartBy`, or by itself at `startAt`. */
export function waiting(systemId: string, when: { msToStartBy: number } | { startAt: string }): WaitingGrant {
  return {
    grantId: uuid(),
    requestId: uuid(),
    systemId,
    durationSeconds: 1800,
    startBy: 'msToStartBy' in when ? iso(NOW + when.msToStartBy) : null,
    startAt: 'startAt' in when ? when.startAt : null,
  };
}
