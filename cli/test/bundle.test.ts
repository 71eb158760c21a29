// Bundles from the terminal: `stint ls` says what a bundle holds, `stint request --bundle`
// asks for one (and refuses a name that is not a bundle, listing those that are), and the
// granted message gives each member's connect line on the bundle's one `stint exec`.
import type { CoreState, LocalGrant, SystemView } from '@stint/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAgent, type FakeAgent } from '../../test-support/fake-agent';
import { accessRequest, coreState } from '../../test-support/fixtures';

const policy: SystemView['policy'] = { approvalsRequired: 1, approverGroups: ['sre-leads'], autoApproveUpToSeconds: null, breakGlassAllowed: false, justification: 'required', ticketPattern: null, pendingTtlSeconds: 3600 };
const single = (id: string, name: string, provider: string): SystemView => ({ id, name, description: '', risk: 'high', provider, durationPresetsSeconds: [1800], maxDurationSeconds: 7200, needsPublicKey: provider === 'ssh', startWindowSeconds: null, bundle: null, policy });
const incident: SystemView = {
  ...single('incident', 'Incident response', 'bundle'),
  needsPublicKey: true,
  bundle: [
    { id: 'prod-db', name: 'Production database', provider: 'postgres' },
    { id: 'dev-ssh', name: 'Dev SSH host', provider: 'ssh' },
  ],
};
const asked = accessRequest({ id: '0195f0a0-2222-7000-8000-0000b0b0b0b0', systemId: 'incident', state: 'active', durationSeconds: 1800 });
const grant: LocalGrant = {
  grantId: '0195f0a0-3333-7000-8000-0000b0b0b0b1',
  requestId: asked.id,
  systemId: 'incident',
  startsAt: '2026-12-03T06:00:00.000Z',
  expiresAt: '2026-12-03T06:30:00.000Z',
  state: 'active',
  envNames: ['DATABASE_URL', 'STINT_SSH_HOST', 'STINT_SSH_USER'],
  stored: true,
  inAgent: true,
};
const state = (): CoreState => coreState({ systems: [single('prod-db', 'Production database', 'postgres'), incident], grants: [grant] });

describe('stint and bundles', () => {
  let agent: FakeAgent;
  beforeAll(async () => {
    agent = await startFakeAgent((method) => {
      if (method === 'getState') return state();
      if (method === 'request') return asked;
      return { ok: true };
    });
  });
  afterAll(() => agent?.close());

  it('ls says which entries are bundles and what they hold', async () => {
    const out = await agent.stint('ls');
    expect(out.stdout).toMatch(/^incident .*bundle of prod-db \+ dev-ssh; needs 1 approval from sre-leads/m);
    expect(out.stdout).not.toMatch(/^prod-db .*bundle/m);
  });

  it('request --bundle asks for the bundle and gives every member its connect line', async () => {
    const out = await agent.stint('request', '--bundle', 'incident', '--for', '30m', '--reason', 'INC-7');
    expect(out.status, out.stderr).toBe(0);
    expect(agent.calls.at(-2)).toMatchObject({ method: 'request', input: { systemId: 'incident', durationSeconds: 1800, reason: 'INC-7' } });
    expect(out.stderr).toContain('Incident response is a bundle: one request for Production database and Dev SSH host.');
    expect(out.stdout).toContain('Granted: incident for 30m. Use it:');
    expect(out.stdout).toContain('  psql "$DATABASE_URL"   (in a shell with the Stint hook)');
    expect(out.stdout).toContain('  ssh "$STINT_SSH_USER@$STINT_SSH_HOST"   (in a shell with the Stint hook)');
    expect(out.stdout).toContain('  stint exec incident -- psql');
  });

  it('refuses --bundle for a single system or an unknown name, before asking anything, and says what to do', async () => {
    const before = agent.calls.filter((c) => c.method === 'request').length;
    const one = await agent.stint('request', '--bundle', 'prod-db', '--for', '30m');
    expect(one.status).toBe(3);
    expect(one.stderr).toContain('prod-db is a single system, not a bundle: stint request prod-db (bundles you may request: incident).');
    const none = await agent.stint('request', '--bundle', 'outage', '--for', '30m');
    expect(none.stderr).toContain('No bundle outage (bundles you may request: incident; stint ls).');
    const both = await agent.stint('request', 'prod-db', '--bundle', 'incident', '--for', '30m');
    expect(both.status).toBe(2);
    const neither = await agent.stint('request', '--for', '30m');
    expect(neither.status).toBe(2);
    expect(neither.stderr).toContain('Name the system to request');
    expect(agent.calls.filter((c) => c.method === 'request').length).toBe(before);
  });
});
