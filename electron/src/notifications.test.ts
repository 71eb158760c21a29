import type { Notice } from '@stint/contract';
import { describe, expect, it } from 'vitest';
import { planNotification } from '@stint/contract';
import { ALL_NOTIFICATIONS, grant, NOW, request, waiting } from './state.fixture';

const review: Notice = { kind: 'review-requested', request: request('prod-db') };

describe('planNotification', () => {
  it('tells an approver at once, with Approve/Deny on macOS', () => {
    const plan = planNotification(review, ALL_NOTIFICATIONS, 'darwin');
    expect(plan).toMatchObject({
      title: 'Review: Ada asks for prod-db',
      body: '30m — “INC-42 failover”',
      actions: [{ id: 'approve', text: 'Approve' }, { id: 'deny', text: 'Deny' }],
      onClick: { view: 'review', requestId: review.request.id },
    });
  });

  it('gives no buttons where the OS does not deliver them; a click opens the review', () => {
    for (const platform of ['linux', 'win32'] as const) {
      const plan = planNotification(review, ALL_NOTIFICATIONS, platform);
      expect(plan?.actions).toEqual([]);
      expect(plan?.onClick).toEqual({ view: 'review', requestId: review.request.id });
    }
  });

  it('shows control and bidi characters in names and reasons as visible escapes (a desktop notification cannot be rewritten)', () => {
    const hostile = request('prod-db', { requester: { sub: 'm', name: 'Mallory\u202e', email: null }, reason: 'fix\u001b[2K\rapproved' });
    const plan = planNotification({ kind: 'review-requested', request: hostile }, ALL_NOTIFICATIONS, 'linux');
    expect(plan).toMatchObject({ title: 'Review: Mallory\\u202E asks for prod-db', body: '30m — “fix\\x1B[2K approved”' });
  });

  it('marks break-glass reviews critical', () => {
    const plan = planNotification({ kind: 'review-requested', request: request('prod-db', { breakGlass: true }) }, ALL_NOTIFICATIONS, 'linux');
    expect(plan).toMatchObject({ urgency: 'critical', title: 'Break-glass: Ada asks for prod-db' });
  });

  it('tells requesters about approval, denial (with the comment) and expiry', () => {
    const approved = planNotification({ kind: 'request-approved', request: request('prod-db', { state: 'approved' }) }, ALL_NOTIFICATIONS, 'linux');
    expect(approved?.title).toBe('Approved: prod-db');
    const denied = request('prod-db', {
      state: 'denied',
      reviews: [
        {
          id: '00000000-0000-4000-8000-000000000abc',
          requestId: '00000000-0000-4000-8000-000000000abd',
          reviewer: { sub: 'u-bob', name: 'Bob', email: null },
          decision: 'deny',
          comment: 'use staging',
          createdAt: new Date(NOW).toISOString(),
        },
      ],
    });
    expect(planNotification({ kind: 'request-denied', request: denied }, ALL_NOTIFICATIONS, 'linux')).toMatchObject({
      title: 'Denied: prod-db',
      body: 'Denied by Bob. “use staging”',
    });
    expect(planNotification({ kind: 'request-expired', request: request('prod-db') }, ALL_NOTIFICATIONS, 'linux')?.title).toBe('Request expired: prod-db');
  });

  it('reminds with Extend when the grant can be extended', () => {
    const g = grant('prod-db', 300_000);
    expect(planNotification({ kind: 'grant-reminder', grant: g, secondsLeft: 300, canExtend: true }, ALL_NOTIFICATIONS, 'darwin')).toMatchObject({
      title: 'prod-db: 5m left',
      actions: [{ id: 'extend', text: 'Extend' }],
      urgency: 'critical',
      onClick: { view: 'grant', grantId: g.grantId },
    });
    expect(planNotification({ kind: 'grant-reminder', grant: g, secondsLeft: 900, canExtend: false }, ALL_NOTIFICATIONS, 'darwin')).toMatchObject({
      actions: [],
      urgency: 'normal',
    });
  });

  it('names systems by their display name, and gives a grant\'s notices one tag so a later one replaces the earlier', () => {
    const g = grant('prod-db', 300_000);
    const names = (id: string) => (id === 'prod-db' ? 'Production DB' : id);
    const reminder = planNotification({ kind: 'grant-reminder', grant: g, secondsLeft: 300, canExtend: true }, ALL_NOTIFICATIONS, 'browser', names);
    const receipt = planNotification({ kind: 'grant-wiped', grantId: g.grantId, systemId: 'prod-db', reason: 'expired', wiped: [], at: new Date(NOW).toISOString() }, ALL_NOTIFICATIONS, 'browser', names);
    expect(reminder?.title).toBe('Production DB: 5m left');
    expect(receipt?.title).toBe('Production DB access ended');
    expect(reminder?.tag).toBe(`grant:${g.grantId}`);
    expect(receipt?.tag).toBe(reminder?.tag);
    expect(planNotification(review, ALL_NOTIFICATIONS, 'browser', names)).toMatchObject({ title: 'Review: Ada asks for Production DB', actions: [], tag: `request:${review.request.id}` });
  });

  it('says an approval waits to be started, with Start where the OS delivers buttons; a lapsed one says nothing was issued', () => {
    const ready = waiting('prod-db', { msToStartBy: 8 * 3_600_000 });
    const plan = planNotification({ kind: 'grant-waiting', grant: ready }, ALL_NOTIFICATIONS, 'darwin');
    expect(plan).toMatchObject({ title: 'Approved: prod-db, start when ready', actions: [{ id: 'start', text: 'Start now' }], onClick: { view: 'grant', grantId: ready.grantId }, tag: `grant:${ready.grantId}` });
    expect(plan?.body).toMatch(/^Your 30m has not started\. Start it before .+; the countdown begins then\.$/);
    expect(planNotification({ kind: 'grant-waiting', grant: ready }, ALL_NOTIFICATIONS, 'linux')?.actions).toEqual([]);
    const scheduled = waiting('prod-db', { startAt: new Date(NOW + 3_600_000).toISOString() });
    const later = planNotification({ kind: 'grant-waiting', grant: scheduled }, ALL_NOTIFICATIONS, 'darwin');
    expect(later?.actions).toEqual([]);
    expect(later?.body).toMatch(/starts by itself at .+, the time you asked for/);
    const lapsed = planNotification({ kind: 'grant-unstarted', grantId: ready.grantId, requestId: ready.requestId, systemId: 'prod-db' }, ALL_NOTIFICATIONS, 'linux');
    expect(lapsed).toMatchObject({ title: 'Approval lapsed: prod-db', onClick: { view: 'request', requestId: ready.requestId }, tag: `grant:${ready.grantId}` });
    expect(lapsed?.body).toMatch(/nothing was issued/);
  });

  it('gives a receipt of what was wiped', () => {
    const wiped: Notice = { kind: 'grant-wiped', grantId: grant('x', 1).grantId, systemId: 'prod-db', reason: 'expired', wiped: ['its credential in the keychain', 'its ssh-agent key'], at: new Date(NOW).toISOString() };
    expect(planNotification(wiped, ALL_NOTIFICATIONS, 'linux')).toMatchObject({
      title: 'prod-db access ended',
      body: 'Time is up. Wiped from this machine: its credential in the keychain, its ssh-agent key.',
      urgency: 'low',
    });
    expect(planNotification({ ...wiped, reason: 'revoked', wiped: [] }, ALL_NOTIFICATIONS, 'linux')).toMatchObject({
      body: 'An administrator revoked it. Nothing of it was stored on this machine.',
      urgency: 'critical',
    });
  });

  it('honours each toggle', () => {
    const g = grant('prod-db', 1000);
    const cases: [keyof typeof ALL_NOTIFICATIONS, Notice][] = [
      ['reviews', review],
      ['decisions', { kind: 'request-approved', request: request('a') }],
      ['decisions', { kind: 'request-denied', request: request('a') }],
      ['decisions', { kind: 'request-expired', request: request('a') }],
      ['decisions', { kind: 'grant-active', grant: g }],
      ['decisions', { kind: 'grant-waiting', grant: waiting('a', { msToStartBy: 60_000 }) }],
      ['decisions', { kind: 'grant-unstarted', grantId: g.grantId, requestId: g.requestId, systemId: 'a' }],
      ['reminders', { kind: 'grant-reminder', grant: g, secondsLeft: 60, canExtend: true }],
      ['receipts', { kind: 'grant-wiped', grantId: g.grantId, systemId: 'a', reason: 'released', wiped: [], at: new Date(NOW).toISOString() }],
    ];
    for (const [toggle, notice] of cases) {
      expect(planNotification(notice, ALL_NOTIFICATIONS, 'darwin'), notice.kind).not.toBeNull();
      expect(planNotification(notice, { ...ALL_NOTIFICATIONS, [toggle]: false }, 'darwin'), `${notice.kind} with ${toggle} off`).toBeNull();
    }
  });

  it('always shows errors that need a person', () => {
    const off = { reviews: false, decisions: false, reminders: false, receipts: false };
    expect(planNotification({ kind: 'error', message: 'keychain refused' }, off, 'linux')?.body).toBe('keychain refused');
  });
});
