// What an approver needs on the card to decide: how risky the system is, how long ago the
// request was made, and whether it only asks for more time on access already granted.
import type { AccessRequest, CoreState, StintBridge, SystemView } from '@stint/contract';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { accessRequest, coreState } from '../../../test-support/fixtures';
import { ago, Approvals } from './Approvals';

const prodDb = { id: 'prod-db', name: 'Production database', risk: 'high', durationPresetsSeconds: [900, 1800, 3600] } as SystemView;
const bridge = {} as StintBridge;
const run = async <T,>(work: Promise<T>) => work;
const card = (request: AccessRequest) => renderToStaticMarkup(<Approvals state={coreState({ systems: [prodDb], reviewQueue: [request] }) as CoreState} bridge={bridge} run={run} />);

describe('an approver card', () => {
  it("shows the system's risk and when the request was made", () => {
    const html = card(accessRequest({ createdAt: new Date(Date.now() - 7 * 60_000).toISOString() }));
    expect(html).toContain('<span class="risk risk-high">high risk</span>');
    expect(html).toMatch(/asked <time[^>]*>7 min ago<\/time>/);
    expect(html).not.toContain('Extension');
  });

  it("names a bundle's systems, so the approver knows everything one approval gives", () => {
    const incident = { id: 'incident', name: 'Incident response', risk: 'high', durationPresetsSeconds: [1800], bundle: [{ id: 'prod-db', name: 'Production database', provider: 'postgres' }, { id: 'dev-ssh', name: 'Dev SSH host', provider: 'ssh' }] } as SystemView;
    const html = renderToStaticMarkup(<Approvals state={coreState({ systems: [incident], reviewQueue: [accessRequest({ systemId: 'incident' })] }) as CoreState} bridge={bridge} run={run} />);
    expect(html).toContain('<strong>Bundle:</strong> approving gives access to Production database and Dev SSH host');
    expect(card(accessRequest())).not.toContain('Bundle:');
  });

  it('says why the on-call rule did not approve it, when the system approves whoever is on call', () => {
    const check = { source: 'rota', schedule: 'primary', outcome: 'failed' as const, words: 'rota schedule primary could not be asked (the rota file is missing), so it was not approved on call' };
    expect(card(accessRequest({ onCallCheck: check }))).toContain('On call: rota schedule primary could not be asked (the rota file is missing), so it was not approved on call');
    expect(card(accessRequest({ onCallCheck: null }))).not.toContain('On call:');
  });

  it('marks an extension as such', () => {
    expect(card(accessRequest({ extendsGrantId: '0195f0a0-0000-7000-8000-0000000000ff' }))).toContain('Extension: more time on a grant that is active now');
  });

  it("says how often the requester asked for this system in the last 30 days", () => {
    expect(card(accessRequest({ recentRequests: 3 }))).toContain('3 earlier requests for Production database in the last 30 days.');
    expect(card(accessRequest({ recentRequests: 1 }))).toContain('1 earlier request for Production database in the last 30 days.');
    expect(card(accessRequest({ recentRequests: 0 }))).toContain('First request for Production database in 30 days.');
    expect(card(accessRequest())).not.toContain('30 days');
  });

  it('offers to approve for less: the shorter presets, never longer than asked', () => {
    const html = card(accessRequest({ durationSeconds: 3600 }));
    expect(html).toContain('Approve for');
    expect(html).toMatch(/<option value="3600"[^>]*>1h \(as asked\)<\/option><option value="1800">30m<\/option><option value="900">15m<\/option><\/select>/);
    // Nothing shorter to offer: no choice, just Approve.
    expect(card(accessRequest({ durationSeconds: 900 }))).not.toContain('Approve for');
  });

  it('says how long ago in words a person reads at a glance', () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    expect(ago('2026-12-02T11:59:30Z', now)).toBe('just now');
    expect(ago('2026-12-02T11:15:00Z', now)).toBe('45 min ago');
    expect(ago('2026-12-02T09:00:00Z', now)).toBe('3 h ago');
    expect(ago('2026-11-29T12:00:00Z', now)).toBe('3 d ago');
  });
});
