import { describe, expect, it } from 'vitest';
import { ServerConfig } from '../config/schema';
import { bundleProvider, memberGrantId } from './bundle';
import { demoProvider } from './demo';
import { ProviderRefusal, ProviderRegistry, type Provider } from './provider';

/** A named test double: a member whose provider refuses, and one that records revokes. */
function registryWith(log: string[]) {
  const registry = new ProviderRegistry();
  const recording = (type: string, refuse = false): Provider => ({
    type,
    needsPublicKey: false,
    async issue(input) {
      if (refuse) throw new ProviderRefusal('no such role');
      log.push(`issue ${input.system.id} ${input.grantId}`);
      return { fields: { user: input.system.id }, env: { [`${input.system.id.toUpperCase().replace(/-/g, '_')}_TOKEN`]: 't' }, state: { id: input.system.id } };
    },
    async revoke(input) {
      log.push(`revoke ${input.system.id} ${String(input.state.id)}`);
    },
  });
  registry.register('demo', demoProvider).register('ok', () => recording('ok')).register('refuses', () => recording('refuses', true)).register('bundle', bundleProvider(registry));
  return registry;
}

const config = (members: { id: string; type: string }[], bundleSystems = members.map((m) => m.id)) =>
  ServerConfig.parse({
    issuer: 'https://idp.example.com',
    audience: 'stint',
    credentialKey: { env: 'K' },
    systems: [
      ...members.map((m) => ({ id: m.id, name: m.id, risk: 'low', provider: { type: m.type }, durations: { presets: ['15m'], max: '1h' }, requesters: ['eng'], approvers: [], approvalsRequired: 0 })),
      { id: 'incident', name: 'Incident', risk: 'high', provider: { type: 'bundle', settings: { systems: bundleSystems } }, durations: { presets: ['15m'], max: '1h' }, requesters: ['eng'], approvers: ['sre'], approvalsRequired: 1 },
    ],
  });
const user = { sub: 'a', name: null, email: null, groups: [], login: 'a' };
const grantId = '0195f0a0-1111-7000-8000-00003f2a9c1b';

describe('bundle provider', () => {
  it('issues each member by its own provider under its own derived grant id, one credential for all', async () => {
    const log: string[] = [];
    const cfg = config([{ id: 'prod-db', type: 'ok' }, { id: 'bastion', type: 'ok' }]);
    const bundle = cfg.systems.find((s) => s.id === 'incident')!;
    const provider = registryWith(log).build(bundle);
    const issued = await provider.issue({ grantId, requestId: grantId, system: bundle, user, startsAt: 0, expiresAt: 1, publicKey: null });
    expect(issued.env).toEqual({ PROD_DB_TOKEN: 't', BASTION_TOKEN: 't' });
    expect(issued.fields).toEqual({ 'prod-db.user': 'prod-db', 'bastion.user': 'bastion' });
    expect(log).toEqual([`issue prod-db ${memberGrantId(grantId, 'prod-db')}`, `issue bastion ${memberGrantId(grantId, 'bastion')}`]);
    expect(memberGrantId(grantId, 'prod-db')).not.toBe(memberGrantId(grantId, 'bastion'));
    expect(memberGrantId(grantId, 'prod-db')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await provider.revoke({ grantId, system: bundle, state: issued.state, reason: 'expired' });
    expect(log.slice(2)).toEqual(['revoke prod-db prod-db', 'revoke bastion bastion']);
  });

  it('takes back what was issued when a member refuses, and names it', async () => {
    const log: string[] = [];
    const cfg = config([{ id: 'bastion', type: 'ok' }, { id: 'prod-db', type: 'refuses' }]);
    const bundle = cfg.systems.find((s) => s.id === 'incident')!;
    const provider = registryWith(log).build(bundle);
    const failed = provider.issue({ grantId, requestId: grantId, system: bundle, user, startsAt: 0, expiresAt: 1, publicKey: null });
    await expect(failed).rejects.toBeInstanceOf(ProviderRefusal);
    await expect(failed).rejects.toThrow('prod-db could not be issued (no such role); bastion was issued and taken back');
    expect(log).toEqual([`issue bastion ${memberGrantId(grantId, 'bastion')}`, 'revoke bastion bastion']);
  });

  it('is refused at boot when it names a missing system, itself, a bundle, or one system twice', () => {
    expect(() => config([{ id: 'a', type: 'ok' }], ['a', 'nope'])).toThrow(/no system is named .{1,2}nope/);
    expect(() => config([{ id: 'a', type: 'ok' }], ['a', 'a'])).toThrow(/a is named twice/);
    expect(() => config([{ id: 'a', type: 'ok' }], ['a', 'incident'])).toThrow(/cannot hold itself/);
    expect(() => config([{ id: 'a', type: 'ok' }], ['a'])).toThrow(/two to ten system ids/);
  });
});
