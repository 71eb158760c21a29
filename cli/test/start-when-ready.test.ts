// Start when ready from the terminal: `stint status` lists approvals that wait, `stint start`
// starts one by system or short id, `stint request --at` names a start time, and `--wait`
// ends at an approval that waits (saying how to start it) instead of waiting out its timeout.
import type { CoreState, WaitingGrant } from '@stint/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAgent, type FakeAgent } from '../../test-support/fake-agent';
import { accessRequest, coreState } from '../../test-support/fixtures';

const asked = accessRequest({ id: '0195f0a0-2222-7000-8000-0000a1b2c3d4', systemId: 'ops-console', requester: { sub: 'alice', name: 'Alice', email: null } });
const ops: WaitingGrant = { grantId: '0195f0a0-3333-7000-8000-00005eed0001', requestId: asked.id, systemId: 'ops-console', durationSeconds: 1800, startBy: '2026-12-02T18:00:00.000Z', startAt: null };
const tonight: WaitingGrant = { grantId: '0195f0a0-3333-7000-8000-00005eed0002', requestId: '0195f0a0-2222-7000-8000-0000a1b2c3d5', systemId: 'staging-db', durationSeconds: 3600, startBy: null, startAt: '2026-12-02T22:00:00.000Z' };

let approved = false;
const state = (): CoreState =>
  coreState({
    myRequests: [{ ...asked, state: approved ? 'approved' : 'pending' }],
    waiting: approved ? [ops, tonight] : [tonight],
  });

describe('stint start, --at, and --wait for an approval that waits', () => {
  let agent: FakeAgent;
  beforeAll(async () => {
    agent = await startFakeAgent((method) => {
      if (method === 'getState') return state();
      if (method === 'request') return { ...asked, state: 'pending' };
      if (method === 'start') return { ...asked, state: 'active' };
      return { ok: true };
    });
  });
  afterAll(() => agent?.close());

  it('lists what waits in stint status, with the command that starts it', async () => {
    approved = true;
    const out = await agent.stint('status');
    expect(out.stdout).toContain('Approved: ops-console for 30m, not started. Start it before 2026-12-02T18:00:00.000Z: stint start ops-console');
    expect(out.stdout).toContain('Approved: staging-db for 1h, starts by itself at 2026-12-02T22:00:00.000Z; nothing is issued before then.');
    expect(JSON.parse((await agent.stint('status', '--json')).stdout).waiting).toEqual([ops, tonight]);
  });

  it('starts one by system or by short id, and says when nothing of that name waits', async () => {
    approved = true;
    const out = await agent.stint('start', 'ops-console');
    expect(out).toMatchObject({ status: 0, stdout: expect.stringMatching(/^Started ops-console for 30m/) });
    expect(agent.calls.at(-1)).toEqual({ method: 'start', input: { grantId: ops.grantId } });
    await agent.stint('start', '5eed0002');
    expect(agent.calls.at(-1)).toEqual({ method: 'start', input: { grantId: tonight.grantId } });
    const none = await agent.stint('start', 'payments-admin');
    expect(none.status).toBe(3);
    expect(none.stderr).toContain('Nothing of yours for payments-admin waits to be started');
  });

  it('sends a named start time as an instant, and refuses one it cannot read before asking anything', async () => {
    await agent.stint('request', 'ops-console', '--for', '30m', '--at', '2026-12-03T22:00:00Z');
    expect(agent.calls.at(-1)).toMatchObject({ method: 'request', input: { systemId: 'ops-console', durationSeconds: 1800, startAt: '2026-12-03T22:00:00.000Z' } });
    const before = agent.calls.length;
    const bad = await agent.stint('request', 'ops-console', '--for', '30m', '--at', 'tonight');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('write a time like 22:00');
    expect(agent.calls.length).toBe(before);
  });

  it('--wait ends at an approval that waits, saying how to start it', async () => {
    approved = false;
    setTimeout(() => (approved = true), 400);
    const out = await agent.stint('request', 'ops-console', '--for', '30m', '--wait', '--timeout', '20s');
    expect(out.status).toBe(0);
    expect(out.stdout).toBe('Approved: ops-console for 30m, not started. Start it before 2026-12-02T18:00:00.000Z: stint start ops-console\n');
  });
});
