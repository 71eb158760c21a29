import { describe, expect, it } from 'vitest';
import { dueEvents, nextWake } from './schedule';

const T = Date.parse('2026-11-24T10:00:00Z');
const at = (hh: number, mm: number, ss = 0) => Date.parse(`2026-11-24T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}Z`);
const grant = { grantId: 'g1', expiresAt: at(11, 0) };

describe('expiry schedule', () => {
  it('reminds at 10 minutes and 1 minute, then hits the deadline', () => {
    expect(dueEvents([grant], [600, 60], at(10, 49, 59), new Set())).toEqual([]);
    expect(dueEvents([grant], [600, 60], at(10, 50), new Set())).toEqual([{ kind: 'reminder', grantId: 'g1', secondsLeft: 600, key: `g1@${grant.expiresAt}:600` }]);
    expect(dueEvents([grant], [600, 60], at(10, 59, 0), new Set([`g1@${grant.expiresAt}:600`]))).toEqual([
      { kind: 'reminder', grantId: 'g1', secondsLeft: 60, key: `g1@${grant.expiresAt}:60` },
    ]);
    expect(dueEvents([grant], [600, 60], at(10, 59, 59), new Set([`g1@${grant.expiresAt}:600`, `g1@${grant.expiresAt}:60`]))).toEqual([]);
    expect(dueEvents([grant], [600, 60], at(11, 0), new Set())).toEqual([{ kind: 'deadline', grantId: 'g1' }]);
  });

  it('after sleeping through a reminder window, gives only the nearest reminder', () => {
    expect(dueEvents([grant], [600, 60], at(10, 59, 30), new Set())).toEqual([{ kind: 'reminder', grantId: 'g1', secondsLeft: 30, key: `g1@${grant.expiresAt}:60` }]);
  });

  it('re-arms reminders after an extension (the key carries the deadline)', () => {
    const extended = { grantId: 'g1', expiresAt: at(11, 30) };
    const sent = new Set([`g1@${grant.expiresAt}:600`]);
    expect(dueEvents([extended], [600], at(11, 20), sent)).toHaveLength(1);
  });

  it('wakes at the nearest reminder or deadline', () => {
    expect(nextWake([grant], [600, 60], T)).toBe(at(10, 50));
    expect(nextWake([grant], [600, 60], at(10, 59, 30))).toBe(at(11, 0));
    expect(nextWake([grant], [600], at(11, 0))).toBeNull();
    expect(nextWake([], [600], T)).toBeNull();
  });

  it('skips reminders that would fall before the grant began', () => {
    const short = { grantId: 'g2', expiresAt: at(10, 5), startsAt: at(10, 0) };
    expect(dueEvents([short], [600, 60], at(10, 0), new Set())).toEqual([]);
    expect(dueEvents([short], [600, 60], at(10, 4), new Set())).toEqual([{ kind: 'reminder', grantId: 'g2', secondsLeft: 60, key: `g2@${short.expiresAt}:60` }]);
    expect(nextWake([short], [600, 60], at(10, 0))).toBe(at(10, 4));
  });
});
