// A person whose login name a provider would have to rewrite (possibly into someone else's
// account) is refused when they ask, before anything is stored or anyone approves, and the
// refusal is in the audit log. The SSH provider's own rule is tested in ssh.test.ts; here a
// named test double plays a provider that cannot serve carol as she is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoProvider } from '../src/providers/demo';
import type { ProviderFactory } from '../src/providers/provider';
import { ENGINES, startHarness, type Harness } from './harness';

const strictNames: ProviderFactory = (system) => ({
  ...demoProvider(system),
  checkUser: (user) => (user.sub === 'carol' ? `your login name "${user.sub}" cannot be used as it is; Stint does not rewrite it` : null),
});

describe.each(ENGINES)('login names a provider cannot use as they are, on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine, providers: { demo: strictNames } });
  });
  afterAll(async () => h?.close());

  it('refuses the request with 422 and the reason, stores no request, and audits the refusal', async () => {
    const refused = await h.api('carol', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: 'login_name_refused', message: expect.stringMatching(/"carol" cannot be used as it is; Stint does not rewrite it/) });
    expect((await h.api('carol', 'GET', '/v1/requests?scope=mine')).body.requests).toEqual([]);
    const audit = (await h.api('dana', 'GET', '/v1/audit?limit=1000')).body.entries as { actor: string; action: string; targetId: string; detail: { why?: string } }[];
    expect(audit.filter((e) => e.action === 'request.refused')).toEqual([expect.objectContaining({ actor: 'carol', targetId: 'demo-sandbox', detail: expect.objectContaining({ why: 'login_name' }) })]);
    expect((await h.api('alice', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 })).status).toBe(201);
  });
});
