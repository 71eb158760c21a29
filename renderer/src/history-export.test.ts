import { describe, expect, it } from 'vitest';
import { accessRequest } from '../../test-support/fixtures';
import { csvCell, decidedBy, historyCsv } from './history-export';

const bob = { sub: 'bob', name: 'Bob Brown', email: null };

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
    const csv = historyCsv([accessRequest({ systemId: 'prod-db', reason: 'fix, then check', ticket: 'INC-7' })], () => 'Production DB');
    const [head, row] = csv.split('\r\n');
    expect(head).toBe('requested_at,system_id,system,duration_seconds,asked_seconds,state,decided_by,reason,ticket,request_id');
    expect(row).toContain(',prod-db,Production DB,');
    expect(row).toContain(',"fix, then check",INC-7,');
  });

  it('says what was asked beside what was granted when an approver approved for less', () => {
    const shortened = accessRequest({ durationSeconds: 1800, askedSeconds: 7200 });
    const [, row] = historyCsv([shortened, accessRequest({ durationSeconds: 900 })], () => 'Production DB').split('\r\n');
    expect(row).toContain(',1800,7200,');
    const [, , asAsked] = historyCsv([shortened, accessRequest({ durationSeconds: 900 })], () => 'Production DB').split('\r\n');
    expect(asAsked).toContain(',900,,');
  });
});
