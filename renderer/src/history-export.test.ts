import { describe, expect, it } from 'vitest';
import { accessRequest } from '../../test-support/fixtures';
import type { AccessRequest, HistoryEntry } from '@stint/contract';
import { csvCell, decidedBy, historyCsv, timeUsed, timeUsedText } from './history-export';

const bob = { sub: 'bob', name: 'Bob Brown', email: null };
/** A request in the history, with no grant unless a test gives one. */
const entry = (overrides: Partial<AccessRequest> = {}, grant: HistoryEntry['grant'] = null): HistoryEntry => ({ ...accessRequest(overrides), grant });
/** A 1h grant from 10:00 that ended as `endReason` at `endedAt`. */
const hourGrant = (endReason: 'expired' | 'released' | 'revoked' | 'failed' | 'unstarted', endedAt: string | null): HistoryEntry['grant'] => ({
  state: endedAt ? 'ended' : 'active',
  startsAt: '2026-12-02T10:00:00.000Z',
  expiresAt: '2026-12-02T11:00:00.000Z',
  endedAt,
  endReason: endedAt ? endReason : null,
});

describe('history export', () => {
  it('says who decided: approvers, the denier, or the policy', () => {
    const review = (decision: 'approve' | 'deny') => ({ id: '0195f0a0-0000-7000-8000-000000000001', requestId: '0195f0a0-0000-7000-8000-000000000002', reviewer: bob, decision, comment: null, createdAt: '2026-12-02T10:00:00.000Z' });
    expect(decidedBy(accessRequest({ state: 'active', reviews: [review('approve')] }))).toBe('Bob Brown');
    expect(decidedBy(accessRequest({ state: 'denied', reviews: [review('deny')] }))).toBe('denied by Bob Brown');
    expect(decidedBy(accessRequest({ state: 'active', approvalsRequired: 0, reviews: [] }))).toBe('policy (no review needed)');
    expect(decidedBy(accessRequest({ state: 'pending', reviews: [] }))).toBe('');
  });

  it('writes CSV a spreadsheet reads as text: quotes, new lines and formulas stay inert', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('-1+1')).toBe("'-1+1");
    expect(csvCell('line one\nline two')).toBe('"line one\nline two"');
    const csv = historyCsv([entry({ systemId: 'prod-db', reason: 'fix, then check', ticket: 'INC-7' })], () => 'Production DB');
    const [head, row] = csv.split('\r\n');
    expect(head).toBe('requested_at,system_id,system,duration_seconds,asked_seconds,state,decided_by,reason,ticket,request_id,used_seconds,granted_seconds');
    expect(row).toContain(',prod-db,Production DB,');
    expect(row).toContain(',"fix, then check",INC-7,');
  });

  it('says what was asked beside what was granted when an approver approved for less', () => {
    const shortened = entry({ durationSeconds: 1800, askedSeconds: 7200 });
    const [, row] = historyCsv([shortened, entry({ durationSeconds: 900 })], () => 'Production DB').split('\r\n');
    expect(row).toContain(',1800,7200,');
    const [, , asAsked] = historyCsv([shortened, entry({ durationSeconds: 900 })], () => 'Production DB').split('\r\n');
    expect(asAsked).toContain(',900,,');
  });

  it('says how much of an ended grant was used, of the time granted to its last deadline', () => {
    const id = '0195f0a0-0000-7000-8000-000000000009';
    // Released after 12 minutes of an hour.
    const released = entry({ state: 'expired', grantId: id }, hourGrant('released', '2026-12-02T10:12:00.000Z'));
    expect(timeUsed(released)).toEqual({ usedSeconds: 720, grantedSeconds: 3600 });
    expect(timeUsedText(released)).toBe('12m of 1h (20%)');
    // Ran out: the whole hour, however late the sweeper ended it.
    expect(timeUsed(entry({ grantId: id }, hourGrant('expired', '2026-12-02T11:00:04.000Z')))).toEqual({ usedSeconds: 3600, grantedSeconds: 3600 });
    expect(timeUsed(entry({ grantId: id }, hourGrant('revoked', '2026-12-02T10:30:00.000Z')))).toEqual({ usedSeconds: 1800, grantedSeconds: 3600 });
    // Nothing to say: still live, never ran, no grant, or an extension (its grant's own request says it).
    expect(timeUsed(entry({ grantId: id }, hourGrant('released', null)))).toBeNull();
    expect(timeUsed(entry({ grantId: id }, hourGrant('failed', '2026-12-02T10:00:01.000Z')))).toBeNull();
    expect(timeUsed(entry({ grantId: id }, hourGrant('unstarted', '2026-12-02T18:00:00.000Z')))).toBeNull();
    expect(timeUsed(entry())).toBeNull();
    expect(timeUsed(entry({ grantId: id, extendsGrantId: id }, hourGrant('released', '2026-12-02T10:12:00.000Z')))).toBeNull();
    expect(timeUsedText(entry())).toBe('');
  });

  it('exports the time used and granted as the last two columns', () => {
    const released = entry({ grantId: '0195f0a0-0000-7000-8000-000000000009' }, hourGrant('released', '2026-12-02T10:12:00.000Z'));
    const [, used, none] = historyCsv([released, entry()], () => 'Production DB').split('\r\n');
    expect(used).toMatch(/,0195f0a0-0000-7000-8000-000000000001,720,3600$/);
    expect(none).toMatch(/,0195f0a0-0000-7000-8000-000000000001,,$/);
  });
});
