// The ldap-group provider against a real OpenLDAP started by the test (test-support/slapd.ts),
// checked the way whatever reads the group would: Debian's ldapsearch asking who is a member.
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LDAP_BIND_DN, LDAP_NAMES_GROUP, LDAP_PEOPLE, LDAP_PLACEHOLDER, LDAP_POSIX_GROUP, startSlapd, type SlapdServer } from '../../../test-support/slapd';
import { MINUTE } from '../../test/harness';
import { SystemConfig } from '../config/schema';
import { ldapGroupProvider } from './ldap-group';
import { ProviderRefusal, ProviderRegistry, type IssueInput, type Provider } from './provider';

const ALICE = `uid=alice,${LDAP_PEOPLE}`;
const BOB = `uid=bob,${LDAP_PEOPLE}`;

/** The error an attempt failed with; a test failure if it succeeded. */
async function failure(attempt: Promise<unknown>): Promise<Error> {
  try {
    await attempt;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the attempt to fail');
}

function ldapSystem(settings: Record<string, unknown>, id = 'db-admins'): SystemConfig {
  return SystemConfig.parse({
    id,
    name: 'Database admins group',
    provider: { type: 'ldap-group', settings },
    durations: { presets: ['5m', '15m'], max: '1h' },
    requesters: ['engineering'],
    approvers: ['sre-leads'],
    approvalsRequired: 1,
    justification: 'optional',
  });
}

/** Points a SecretRef at a fresh environment variable holding `value`. */
const secretEnv = (value: string) => {
  const name = `STINT_TEST_LDAP_BIND_${randomBytes(6).toString('hex').toUpperCase()}`;
  process.env[name] = value;
  return { env: name };
};

function issueInput(system: SystemConfig, opts: { login?: string; grantId?: string } = {}): IssueInput {
  const now = Date.now();
  return {
    grantId: opts.grantId ?? randomUUID(),
    requestId: randomUUID(),
    system,
    user: { sub: `sub-${opts.login ?? 'alice'}`, login: opts.login ?? 'alice', name: 'Alice Adams', email: 'alice@stint.example', groups: ['engineering'] },
    startsAt: now,
    expiresAt: now + 10 * MINUTE,
    publicKey: null,
  };
}

const revokeInput = (system: SystemConfig, grantId: string, state: Record<string, unknown>) => ({ grantId, system, state, reason: 'released' as const });

// ---------------------------------------------------------------------------------------------

describe('ldap-group provider against a real OpenLDAP', () => {
  let ldap: SlapdServer;
  let settings: Record<string, unknown>;
  let system: SystemConfig;
  let provider: Provider;
  const members = () => ldap.values(LDAP_NAMES_GROUP, 'member');
  const marks = (group = LDAP_NAMES_GROUP) => ldap.values(group, 'description');
  /** What an application that reads the group sees: is this DN a member? */
  const isMember = (dn: string) => ldap.search(LDAP_NAMES_GROUP, `(member=${dn})`, ['1.1'], 'base').stdout === `dn: ${LDAP_NAMES_GROUP}`;

  beforeAll(async () => {
    ldap = await startSlapd();
    settings = { url: ldap.url, bindDn: LDAP_BIND_DN, bindPassword: secretEnv(ldap.bindPassword), groupDn: LDAP_NAMES_GROUP, membership: 'member', userDn: `uid={login},${LDAP_PEOPLE}` };
    system = ldapSystem(settings);
    provider = ldapGroupProvider(system);
  });
  afterAll(async () => {
    await provider?.close?.();
    await ldap?.destroy();
  });

  it('puts the person in the group for the grant and takes them out at revoke, handing out nothing secret', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    expect(issued).toEqual({
      fields: { group: LDAP_NAMES_GROUP, member: ALICE, expiresAt: new Date(input.expiresAt).toISOString() },
      env: {},
      state: { member: ALICE },
    });
    expect(isMember(ALICE)).toBe(true);
    expect(members().sort()).toEqual([LDAP_PLACEHOLDER, ALICE].sort());
    expect(marks()).toEqual([`stint grant ${input.grantId} added ${ALICE}`]);

    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(isMember(ALICE)).toBe(false);
    expect(members()).toEqual([LDAP_PLACEHOLDER]);
    expect(marks()).toEqual([]);
    // Idempotent: a second revoke (another replica, a lost reply) finds no mark and succeeds.
    await expect(provider.revoke(revokeInput(system, input.grantId, issued.state))).resolves.toBeUndefined();
    expect(members()).toEqual([LDAP_PLACEHOLDER]);
  });

  it('memberUid on a posixGroup, the person found by a search under a base DN', async () => {
    const posix = ldapSystem({ ...settings, groupDn: LDAP_POSIX_GROUP, membership: 'memberUid', userDn: undefined, userSearch: { base: LDAP_PEOPLE, attribute: 'uid', filter: '(objectClass=posixAccount)' } });
    const posixProvider = ldapGroupProvider(posix);
    const input = issueInput(posix, { login: 'bob' });
    const issued = await posixProvider.issue(input);
    expect(issued.fields).toMatchObject({ group: LDAP_POSIX_GROUP, memberUid: 'bob' });
    expect(ldap.values(LDAP_POSIX_GROUP, 'memberUid')).toEqual(['bob']);
    expect(ldap.search(LDAP_POSIX_GROUP, '(memberUid=bob)', ['1.1'], 'base').stdout).toBe(`dn: ${LDAP_POSIX_GROUP}`);
    await posixProvider.revoke(revokeInput(posix, input.grantId, issued.state));
    expect(ldap.values(LDAP_POSIX_GROUP, 'memberUid')).toEqual([]);
    expect(marks(LDAP_POSIX_GROUP)).toEqual([]);
    // The search's filter counts: an entry it leaves out is no one.
    const narrow = ldapGroupProvider(ldapSystem({ ...posix.provider.settings, userSearch: { base: LDAP_PEOPLE, filter: '(uidNumber=1001)' } }));
    await expect(narrow.issue(issueInput(posix, { login: 'bob' }))).rejects.toThrow(/no directory entry whose uid is exactly "bob"/);
    expect((await narrow.issue(issueInput(posix, { login: 'alice' }))).fields.memberUid).toBe('alice');
    ldap.modify(`dn: ${LDAP_POSIX_GROUP}\nchangetype: modify\nreplace: memberUid\nmemberUid: x\n-\ndelete: memberUid\n-\ndelete: description\n`);
  });

  it('issues again for the same grant (an answer lost in a crash): one membership, one mark', async () => {
    const input = issueInput(system);
    const first = await provider.issue(input);
    const again = await provider.issue(input);
    expect(again).toEqual(first);
    expect(members().sort()).toEqual([LDAP_PLACEHOLDER, ALICE].sort());
    expect(marks()).toEqual([`stint grant ${input.grantId} added ${ALICE}`]);
    // Taken out by hand meanwhile: the next attempt puts the member back.
    ldap.modify(`dn: ${LDAP_NAMES_GROUP}\nchangetype: modify\ndelete: member\nmember: ${ALICE}\n`);
    await provider.issue(input);
    expect(isMember(ALICE)).toBe(true);
    // What recordIssue stores when issue() threw: nothing; the mark finds the membership.
    await provider.revoke(revokeInput(system, input.grantId, {}));
    expect(isMember(ALICE)).toBe(false);
    expect(marks()).toEqual([]);
    await expect(provider.revoke(revokeInput(system, randomUUID(), {}))).resolves.toBeUndefined();
  });

  it('leaves a membership it did not make where it was: a member outside Stint stays a member after the grant', async () => {
    ldap.modify(`dn: ${LDAP_NAMES_GROUP}\nchangetype: modify\nadd: member\nmember: ${ALICE}\n`);
    const input = issueInput(system);
    const issued = await provider.issue(input);
    expect(issued.state).toEqual({ member: ALICE });
    expect(marks()).toEqual([`stint grant ${input.grantId} held ${ALICE}`]);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(isMember(ALICE)).toBe(true);
    expect(marks()).toEqual([]);
    ldap.modify(`dn: ${LDAP_NAMES_GROUP}\nchangetype: modify\ndelete: member\nmember: ${ALICE}\n`);
  });

  it('two grants on one group for one person (two systems, or a revoke still retrying): the membership lasts until the last one ends', async () => {
    const other = ldapGroupProvider(ldapSystem(settings, 'db-admins-too'));
    const a = issueInput(system);
    const b = issueInput(system);
    const issuedA = await provider.issue(a);
    const issuedB = await other.issue(b);
    expect(marks().sort()).toEqual([`stint grant ${a.grantId} added ${ALICE}`, `stint grant ${b.grantId} held ${ALICE}`].sort());
    await provider.revoke(revokeInput(system, a.grantId, issuedA.state));
    expect(isMember(ALICE)).toBe(true);
    expect(marks()).toEqual([`stint grant ${b.grantId} added ${ALICE}`]);
    await other.revoke(revokeInput(system, b.grantId, issuedB.state));
    expect(isMember(ALICE)).toBe(false);
    expect(marks()).toEqual([]);
  });

  it('never takes out a member on the word of the stored state alone', async () => {
    ldap.modify(`dn: ${LDAP_NAMES_GROUP}\nchangetype: modify\nadd: member\nmember: ${BOB}\n`);
    // A provider_state edited to name bob, for a grant that marked nothing.
    await provider.revoke(revokeInput(system, randomUUID(), { member: BOB }));
    expect(isMember(BOB)).toBe(true);
    // ... or for alice's grant.
    const input = issueInput(system);
    await provider.issue(input);
    await expect(provider.revoke(revokeInput(system, input.grantId, { member: BOB }))).rejects.toThrow(/refusing to touch member "uid=bob,/);
    expect(isMember(BOB)).toBe(true);
    expect(isMember(ALICE)).toBe(true);
    await provider.revoke(revokeInput(system, input.grantId, { member: ALICE }));
    ldap.modify(`dn: ${LDAP_NAMES_GROUP}\nchangetype: modify\ndelete: member\nmember: ${BOB}\n`);
    expect(members()).toEqual([LDAP_PLACEHOLDER]);
  });

  it('a revoke whose member was taken out by hand finishes, removing its mark', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    ldap.modify(`dn: ${LDAP_NAMES_GROUP}\nchangetype: modify\ndelete: member\nmember: ${ALICE}\n`);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(marks()).toEqual([]);
    expect(members()).toEqual([LDAP_PLACEHOLDER]);
  });

  it('refuses logins it would have to rewrite, before anything is asked of the directory, and spellings the directory has not got', async () => {
    for (const login of ['alice,ou=admins', 'alice)(uid=*', '*', 'alice+cn=x', ' alice', 'al\\2ace', '#alice', 'alice"', '']) {
      expect(provider.checkUser!(issueInput(system, { login }).user), login).toMatch(/cannot be used in the directory as it is/);
      const error = await failure(provider.issue(issueInput(system, { login })));
      expect(error).toBeInstanceOf(ProviderRefusal);
    }
    expect(provider.checkUser!(issueInput(system, { login: 'alice.adams@example.com' }).user)).toBeNull();
    // Directory matching ignores case; Stint does not: ALICE is not alice.
    const upper = await failure(provider.issue(issueInput(system, { login: 'ALICE' })));
    expect(upper).toBeInstanceOf(ProviderRefusal);
    expect(upper.message).toMatch(/no directory entry whose uid is exactly "ALICE"/);
    await expect(provider.issue(issueInput(system, { login: 'mallory' }))).rejects.toThrow(/no directory entry whose uid is exactly "mallory"/);
    expect(members()).toEqual([LDAP_PLACEHOLDER]);
    expect(marks()).toEqual([]);
  });

  it('refuses (no retry can help) a wrong bind password and a change the directory does not allow', async () => {
    const wrong = ldapGroupProvider(ldapSystem({ ...settings, bindPassword: secretEnv('wrong-bind-pw') }));
    const refused = await failure(wrong.issue(issueInput(system)));
    expect(refused).toBeInstanceOf(ProviderRefusal);
    expect(refused.message).toBe(`ldap-group provider: issue: binding as ${LDAP_BIND_DN}: InvalidCredentialsError (LDAP 49)`);
    expect(refused.message).not.toContain('wrong-bind-pw');
    await expect(wrong.probe!()).rejects.toBeInstanceOf(ProviderRefusal);

    // The bind DN may write member, memberUid and description only.
    const cnMarks = ldapGroupProvider(ldapSystem({ ...settings, markAttribute: 'businessCategory' }));
    const denied = await failure(cnMarks.issue(issueInput(system)));
    expect(denied).toBeInstanceOf(ProviderRefusal);
    expect(denied.message).toMatch(/add member: .*\(LDAP 50\)/);
    expect(members()).toEqual([LDAP_PLACEHOLDER]);

    const noGroup = ldapGroupProvider(ldapSystem({ ...settings, groupDn: `cn=nope,ou=groups,dc=stint,dc=test` }));
    await expect(noGroup.probe!()).rejects.toThrow(/read group cn=nope,.*\(LDAP 32\)/);
    await expect(noGroup.issue(issueInput(system))).rejects.toBeInstanceOf(ProviderRefusal);
  });

  it('says what to do when the last member of a groupOfNames cannot be taken out', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    ldap.modify(`dn: ${LDAP_NAMES_GROUP}\nchangetype: modify\ndelete: member\nmember: ${LDAP_PLACEHOLDER}\n`);
    try {
      await expect(provider.revoke(revokeInput(system, input.grantId, issued.state))).rejects.toThrow(/cannot be left without members .*placeholder member/);
      expect(isMember(ALICE)).toBe(true);
    } finally {
      ldap.modify(`dn: ${LDAP_NAMES_GROUP}\nchangetype: modify\nadd: member\nmember: ${LDAP_PLACEHOLDER}\n`);
    }
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(members()).toEqual([LDAP_PLACEHOLDER]);
  });

  it('probe binds and reads the group', async () => {
    await expect(provider.probe!()).resolves.toBeUndefined();
  });

  it('a revoke while the directory is down fails as retryable, and succeeds once it is back', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    await ldap.stop();
    try {
      const started = Date.now();
      const error = await failure(provider.revoke(revokeInput(system, input.grantId, issued.state)));
      expect(error).not.toBeInstanceOf(ProviderRefusal);
      expect(error.message).toMatch(/^ldap-group provider: revoke: binding as .*ECONNREFUSED/);
      expect(error.message).not.toContain(ldap.bindPassword);
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(provider.issue(issueInput(system))).rejects.not.toBeInstanceOf(ProviderRefusal);
      await expect(provider.probe!()).rejects.not.toBeInstanceOf(ProviderRefusal);
    } finally {
      await ldap.start();
    }
    expect(isMember(ALICE)).toBe(true);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(isMember(ALICE)).toBe(false);
  });

  it('a directory that accepts and then says nothing fails the attempt within the timeout, retryably', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const stalled = ldapGroupProvider(ldapSystem({ ...settings, url: `ldap://127.0.0.1:${port}` }));
    try {
      const started = Date.now();
      const error = await failure(stalled.issue(issueInput(system)));
      expect(error).not.toBeInstanceOf(ProviderRefusal);
      expect(error.message).toMatch(/binding as .*: BindRequest: Operation timed out$/);
      expect(Date.now() - started).toBeLessThan(6500);
    } finally {
      await stalled.close?.();
      silent.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('ldap-group provider settings', () => {
  const base = { url: 'ldap://ldap.internal:389', bindDn: LDAP_BIND_DN, groupDn: LDAP_NAMES_GROUP, membership: 'member', userDn: `uid={login},${LDAP_PEOPLE}` };
  const make = (settings: Record<string, unknown>) => () => ldapGroupProvider(ldapSystem(settings));

  it('names the setting that is wrong', () => {
    const bindPassword = secretEnv('s3cret-bind-pw');
    expect(make({ ...base })).toThrow(/^bindPassword: /);
    expect(make({ ...base, bindPassword: 's3cret-bind-pw' })).toThrow(/^bindPassword: /);
    expect(make({ ...base, bindPassword: { env: 'STINT_TEST_LDAP_UNSET_VARIABLE' } })).toThrow(/^bindPassword: the environment variable STINT_TEST_LDAP_UNSET_VARIABLE is not set/);
    expect(make({ ...base, bindPassword, url: 'http://ldap.internal' })).toThrow(/^url: ldap:\/\/host/);
    expect(make({ ...base, bindPassword, url: 'ldap://ldap.internal/dc=x??sub' })).toThrow(/^url: /);
    expect(make({ ...base, bindPassword, membership: 'uniqueMember' })).toThrow(/^membership: /);
    expect(make({ ...base, bindPassword, groupDn: 'admins' })).toThrow(/^groupDn: a DN/);
    expect(make({ ...base, bindPassword, userDn: undefined })).toThrow(/^userDn: give either userDn \(a template\) or userSearch/);
    expect(make({ ...base, bindPassword, userSearch: { base: LDAP_PEOPLE } })).toThrow(/^userDn: give either/);
    expect(make({ ...base, bindPassword, userDn: `cn=x,uid={login},${LDAP_PEOPLE}` })).toThrow(/^userDn: a DN whose first part is \{login\}/);
    expect(make({ ...base, bindPassword, userDn: `uid={login},ou={system}` })).toThrow(/^userDn: /);
    expect(make({ ...base, bindPassword, userDn: undefined, userSearch: { base: LDAP_PEOPLE, filter: '(objectClass=person' } })).toThrow(/^userSearch\.filter: not an LDAP filter/);
    expect(make({ ...base, bindPassword, userDn: undefined, userSearch: { base: LDAP_PEOPLE, attribute: 'uid=x' } })).toThrow(/^userSearch\.attribute: /);
    expect(make({ ...base, bindPassword, markAttribute: 'x y' })).toThrow(/^markAttribute: /);
    expect(make({ ...base, bindPassword, password: 'x' })).toThrow(/Unrecognized key/);
  });

  it('builds without connecting, and never echoes the bind password', () => {
    // Nothing listens on ldap.internal: a factory that connected would fail here or hang.
    const provider = make({ ...base, bindPassword: secretEnv('s3cret-bind-pw') })();
    expect(provider).toMatchObject({ type: 'ldap-group', needsPublicKey: false });
    const registry = new ProviderRegistry().register('ldap-group', ldapGroupProvider);
    let error: Error | undefined;
    try {
      registry.configure([ldapSystem({ ...base, bindPassword: secretEnv('s3cret-bind-pw'), membership: 'owner' })]);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/systems\.db-admins\.provider\.settings: membership: /);
    expect(error?.message).not.toContain('s3cret-bind-pw');
  });
});
