// A grant on a directory group through the real server, with the built-in provider registry (no
// injected providers): request, approval, the person in the group, then the deadline. The
// sweeper's run ends the grant with the person out of the group and the group's mark gone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LDAP_BIND_DN, LDAP_NAMES_GROUP, LDAP_PEOPLE, LDAP_PLACEHOLDER, startSlapd, type SlapdServer } from '../../test-support/slapd';
import { SystemConfig } from '../src/config/schema';
import { MINUTE, startHarness, type Harness } from './harness';

let ldap: SlapdServer;
let h: Harness;
let scratch = '';

beforeAll(async () => {
  ldap = await startSlapd();
  scratch = mkdtempSync(join(tmpdir(), 'stint-ldap-grant-'));
  const secretFile = join(scratch, 'bind-password');
  writeFileSync(secretFile, `${ldap.bindPassword}\n`, { mode: 0o600 });
  const system = SystemConfig.parse({
    id: 'db-admins',
    name: 'Database admins',
    provider: {
      type: 'ldap-group',
      settings: { url: ldap.url, bindDn: LDAP_BIND_DN, bindPassword: { file: secretFile }, groupDn: LDAP_NAMES_GROUP, membership: 'member', userSearch: { base: LDAP_PEOPLE } },
    },
    durations: { presets: ['5m'], max: '1h' },
    requesters: ['engineering'],
    approvers: ['sre-leads'],
    approvalsRequired: 1,
    justification: 'optional',
  });
  h = await startHarness({ engine: 'sqlite', config: (c) => ({ ...c, systems: [...c.systems, system] }) });
});

afterAll(async () => {
  await h?.close();
  await ldap?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

it('a grant on a directory group ends at its deadline with the person out of the group', async () => {
  const alice = `uid=alice,${LDAP_PEOPLE}`;
  const created = await h.api('alice', 'POST', '/v1/requests', { systemId: 'db-admins', durationSeconds: 300, reason: 'rotate the replica' });
  expect(created.status).toBe(201);
  const reviewed = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
  expect(reviewed.status).toBe(200);
  const grantId = (reviewed.body.grant?.id ?? reviewed.body.request.grantId) as string;
  const read = await h.api('alice', 'GET', `/v1/grants/${grantId}/credential`);
  expect(read.status).toBe(200);
  // The membership is the access: named in the fields, nothing to put in a shell.
  expect(read.body.credential).toMatchObject({ fields: { group: LDAP_NAMES_GROUP, member: alice }, env: {} });
  expect(ldap.values(LDAP_NAMES_GROUP, 'member').sort()).toEqual([LDAP_PLACEHOLDER, alice].sort());

  // One second before the deadline the sweeper leaves it; past it, one run ends it.
  h.clock.advance(5 * MINUTE - 1000);
  await h.server.sweeper.runOnce();
  expect(ldap.values(LDAP_NAMES_GROUP, 'member')).toContain(alice);
  h.clock.advance(2000);
  await h.server.sweeper.runOnce();

  const row = await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirstOrThrow();
  expect(row).toMatchObject({ state: 'ended', end_reason: 'expired', revoke_count: 1, last_error: null });
  expect(ldap.values(LDAP_NAMES_GROUP, 'member')).toEqual([LDAP_PLACEHOLDER]);
  expect(ldap.values(LDAP_NAMES_GROUP, 'description')).toEqual([]);
});
