// Ids shown to people are their random tails, and a short id that names several things is
// refused with the list, never resolved to one of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAgent, type FakeAgent } from '../../test-support/fake-agent';
import { accessRequest, coreState } from '../../test-support/fixtures';

const request = (id: string, sub: string) => accessRequest({ id, requester: { sub, name: sub, email: null } });

// Made within the same second: their first 8 characters (the old short form) are the same.
const queue = [request('0195f0a0-1111-7000-8000-00003f2a9c1b', 'alice'), request('0195f0a0-2222-7000-8000-00003f2a0d77', 'erin'), request('0195f0a0-3333-7000-8000-0000aa11bb22', 'frank')];
const state = coreState({ reviewQueue: queue });

describe('short ids', () => {
  let agent: FakeAgent;
  const reviewed: string[] = [];
  beforeAll(async () => {
    agent = await startFakeAgent((method, input) => {
      if (method === 'getState') return state;
      const id = (input as { requestId: string }).requestId;
      reviewed.push(id);
      return { ...queue.find((r) => r.id === id)!, state: 'active' };
    });
  });
  afterAll(() => agent?.close());

  it('lists requests made in the same second under different short ids (their random tails)', async () => {
    const out = (await agent.stint('requests')).stdout;
    expect(out).toMatch(/^3f2a9c1b\s+prod-db/m);
    expect(out).toMatch(/^3f2a0d77\s+prod-db/m);
    expect(out).toMatch(/^aa11bb22\s+prod-db/m);
  });

  it('refuses a short id that matches several, listing them, and reviews nothing', async () => {
    const result = await agent.stint('approve', '3f2a');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/3f2a matches 2 requests; give more characters:\n\s+3f2a9c1b {2}prod-db for 15m by alice\n\s+3f2a0d77 {2}prod-db for 15m by erin/);
    expect(reviewed).toEqual([]);
  });

  it('takes a unique short id, or a full id', async () => {
    expect((await agent.stint('approve', '3f2a9')).status).toBe(0);
    expect((await agent.stint('deny', queue[2]!.id)).status).toBe(0);
    expect(reviewed).toEqual([queue[0]!.id, queue[2]!.id]);
  });
});
