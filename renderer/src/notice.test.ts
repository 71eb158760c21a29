import type { CoreState, LocalGrant, Notice } from '@stint/contract';
import { describe, expect, it } from 'vitest';
import { reminderExtension } from './notice';

const grant: LocalGrant = { grantId: 'g1', requestId: 'r1', systemId: 'prod-db', startsAt: '2026-11-30T10:00:00.000Z', expiresAt: '2026-11-30T10:30:00.000Z', state: 'active', envNames: [], stored: true, inAgent: false };
const state = { systems: [{ id: 'prod-db', durationPresetsSeconds: [1800, 3600] }] } as unknown as CoreState;
const reminder = (canExtend: boolean): Notice => ({ kind: 'grant-reminder', grant, secondsLeft: 60, canExtend });

describe('a reminder toast', () => {
  it('offers Extend by the shortest preset when the policy allows it', () => {
    expect(reminderExtension(reminder(true), state)).toEqual({ grantId: 'g1', durationSeconds: 1800 });
  });
  it('offers nothing when the policy does not allow an extension, or for other notices', () => {
    expect(reminderExtension(reminder(false), state)).toBeUndefined();
    expect(reminderExtension({ kind: 'grant-active', grant }, state)).toBeUndefined();
  });
});
