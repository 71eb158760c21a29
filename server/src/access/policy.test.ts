import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal';
import { devConfig } from '../dev/catalog';
import { decideRequest, maySee, previewPolicy, reviewRefusal } from './policy';

const config = devConfig('http://idp.test', 'stint-api');
const system = (id: string) => config.systems.find((s) => s.id === id)!;
const person = (sub: string, groups: string[]): Principal => ({ sub, login: sub, name: sub, email: null, groups, isAdmin: false, isAuditor: false });
const alice = person('alice', ['engineering']);
const bob = person('bob', ['engineering', 'sre-leads']);
const mallory = person('mallory', ['marketing']);
const ok = { durationSeconds: 900, reason: 'deploy fix', ticket: 'OPS-1', breakGlass: false };

describe('policy', () => {
  it('refuses a requester outside the requester groups', () => {
    const decision = decideRequest(system('staging-db'), mallory, ok, false);
    expect(decision).toMatchObject({ ok: false, status: 403, error: 'not_a_requester' });
    expect(maySee(system('staging-db'), mallory)).toBe(false);
  });

  it('refuses a duration above the maximum and names the maximum', () => {
    const decision = decideRequest(system('prod-db'), alice, { ...ok, durationSeconds: 3 * 3600 }, false);
    expect(decision).toMatchObject({ ok: false, status: 400, error: 'duration_too_long' });
    expect(!decision.ok && decision.message).toContain('2h');
  });

  it('requires a reason where the system says so, and a matching ticket', () => {
    expect(decideRequest(system('prod-db'), alice, { ...ok, reason: '  ' }, false)).toMatchObject({ ok: false, error: 'reason_required' });
    expect(decideRequest(system('prod-db'), alice, { ...ok, ticket: undefined }, false)).toMatchObject({ ok: false, error: 'ticket_required' });
    expect(decideRequest(system('prod-db'), alice, { ...ok, ticket: 'JIRA-1' }, false)).toMatchObject({ ok: false, error: 'ticket_required' });
    expect(decideRequest(system('prod-db'), alice, ok, false)).toMatchObject({ ok: true, outcome: 'review', approvalsRequired: 1 });
  });

  it('auto-approves only the listed groups, only up to the listed duration', () => {
    const staging = system('staging-db');
    expect(decideRequest(staging, bob, { ...ok, durationSeconds: 3600 }, false)).toMatchObject({ ok: true, outcome: 'auto' });
    expect(decideRequest(staging, bob, { ...ok, durationSeconds: 3601 }, false)).toMatchObject({ ok: true, outcome: 'review' });
    expect(decideRequest(staging, alice, { ...ok, durationSeconds: 60 }, false)).toMatchObject({ ok: true, outcome: 'review' });
    expect(previewPolicy(staging, bob).autoApproveUpToSeconds).toBe(3600);
    expect(previewPolicy(staging, alice).autoApproveUpToSeconds).toBeNull();
  });

  it('lets only break-glass groups break the glass', () => {
    expect(decideRequest(system('prod-db'), alice, { ...ok, breakGlass: true }, false)).toMatchObject({ ok: false, status: 403, error: 'break_glass_not_allowed' });
    expect(decideRequest(system('prod-db'), bob, { ...ok, breakGlass: true }, false)).toMatchObject({ ok: true, outcome: 'break-glass' });
    expect(decideRequest(system('staging-db'), bob, { ...ok, breakGlass: true }, false)).toMatchObject({ ok: false, error: 'break_glass_not_allowed' });
  });

  it('demands a public key when the provider signs one', () => {
    expect(decideRequest(system('staging-db'), alice, ok, true)).toMatchObject({ ok: false, error: 'public_key_required' });
    expect(decideRequest(system('staging-db'), alice, { ...ok, publicKey: 'ssh-ed25519 AAAA' }, true)).toMatchObject({ ok: true });
  });

  it('never lets a requester review their own request, even as an approver', () => {
    const request = { requester_sub: 'bob', approver_groups: ['sre-leads'] };
    expect(reviewRefusal(request, bob)).toMatchObject({ error: 'own_request' });
    expect(reviewRefusal(request, alice)).toMatchObject({ error: 'not_an_approver' });
    expect(reviewRefusal(request, person('carol', ['sre-leads']))).toBeNull();
  });
});
