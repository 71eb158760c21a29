import type { PolicyPreview } from '@stint/contract';
import { describe, expect, it } from 'vitest';
import { clockText } from './notice';
import { isAutoApproved, policyText } from './policy';
import { parseReminderMinutes } from './screens/Settings';

const base: PolicyPreview = {
  approvalsRequired: 1,
  approverGroups: ['sre-leads'],
  autoApproveUpToSeconds: null,
  breakGlassAllowed: false,
  justification: 'optional',
  ticketPattern: null,
  pendingTtlSeconds: 3600,
};

describe('policyText', () => {
  it('says who must approve', () => {
    expect(policyText(base)).toEqual(['needs 1 approval from sre-leads']);
    expect(policyText({ ...base, approvalsRequired: 2, approverGroups: ['sre-leads', 'security'] })).toEqual(['needs 2 approvals from sre-leads or security']);
  });
  it('says when it is approved at once, and what else the policy asks', () => {
    expect(policyText({ ...base, autoApproveUpToSeconds: 3600 })).toEqual(['auto-approved up to 1h', 'longer needs 1 approval from sre-leads']);
    expect(policyText({ ...base, approvalsRequired: 0, approverGroups: [] })).toEqual(['granted at once']);
    expect(policyText({ ...base, breakGlassAllowed: true, justification: 'required', ticketPattern: '^OPS-[0-9]+$' })).toEqual([
      'needs 1 approval from sre-leads',
      'reason required',
      'ticket required',
      'break-glass allowed',
    ]);
  });
  it('knows which durations skip review', () => {
    expect(isAutoApproved({ ...base, autoApproveUpToSeconds: 3600 }, 3600)).toBe(true);
    expect(isAutoApproved({ ...base, autoApproveUpToSeconds: 3600 }, 3601)).toBe(false);
    expect(isAutoApproved(base, 60)).toBe(false);
  });
});

describe('clockText and reminders', () => {
  it('counts down like a clock', () => {
    expect(clockText(299.4)).toBe('4:59');
    expect(clockText(3723)).toBe('1:02:03');
    expect(clockText(-5)).toBe('0:00');
  });
  it('reads reminder minutes', () => {
    expect(parseReminderMinutes('5, 1')).toEqual([300, 60]);
    expect(parseReminderMinutes('')).toEqual([]);
    expect(parseReminderMinutes('5, x')).toBeNull();
    expect(parseReminderMinutes('0')).toBeNull();
  });
});
