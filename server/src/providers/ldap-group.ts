import { AndFilter, Attribute, Change, Client, EqualityFilter, FilterParser, NoSuchAttributeError, NoSuchObjectError, ObjectClassViolationError, ResultCodeError, TypeOrValueExistsError, type Filter } from 'ldapts';
import { z } from 'zod';
import { readSecret } from '../config/load';
import { SecretRef, type SystemConfig } from '../config/schema';
import { ProviderRefusal, type IssueInput, type IssuedCredential, type Provider, type ProviderFactory } from './provider';

/**
 * Logins this provider uses as they are: letters, digits and `. _ @ -`, starting with a letter or
 * digit. Threat: a login is written into a DN (`uid={login},...`) and a search filter, where
 * `, + = \ " < > ; # * ( )` have meaning; escaping would make `a,ou=admins` a different person's
 * name than the IdP's, so such a login is refused instead of rewritten.
 */
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,255}$/;

// eslint-disable-next-line no-control-regex -- exactly what is refused
const Dn = z.string().min(3).regex(/^[^\u0000-\u001f\u007f]+=[^\u0000-\u001f\u007f]+$/, 'a DN such as cn=admins,ou=groups,dc=example,dc=com');
const AttributeName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an attribute name such as uid');

const LdapFilter = z.string().transform((text, ctx) => {
  try {
    return { text, filter: FilterParser.parseString(text) };
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not an LDAP filter: ${(error as Error).message}` });
    return z.NEVER;
  }
});

const LdapGroupSettings = z
  .strictObject({
    /** ldap:// or ldaps:// and host[:port], nothing else (ldaps checks the server against the system's CAs). */
    url: z.string().regex(/^ldaps?:\/\/[A-Za-z0-9.[\]:-]+\/?$/, 'ldap://host[:port] or ldaps://host[:port]'),
    /** Who the provider binds as; it needs write access to the group's membership and mark attributes. */
    bindDn: Dn,
    /** A secret, so only a reference. */
    bindPassword: SecretRef,
    /** The group a grant puts its person in. */
    groupDn: Dn,
    /** `member` (groupOfNames: the person's DN) or `memberUid` (posixGroup: the login). */
    membership: z.enum(['member', 'memberUid']),
    /** The person's DN from their login, e.g. `uid={login},ou=people,dc=example,dc=com`. */
    userDn: z.string().optional(),
    /** Or a search for the person: `attribute` equal to the login, under `base`. */
    userSearch: z.strictObject({ base: Dn, attribute: AttributeName.default('uid'), filter: LdapFilter.optional() }).optional(),
    /** Where the group carries the provider's ownership marks (one value per live grant). */
    markAttribute: AttributeName.default('description'),
  })
  .superRefine((s, ctx) => {
    if ((s.userDn === undefined) === (s.userSearch === undefined)) ctx.addIssue({ code: 'custom', path: ['userDn'], message: 'give either userDn (a template) or userSearch, not both' });
  });
type LdapGroupSettings = z.output<typeof LdapGroupSettings>;

/** `attr={login},rest`: the login is the entry's own name, under `attr`. */
function parseUserDn(template: string): { attribute: string; render: (login: string) => string } | string {
  const match = /^([A-Za-z][A-Za-z0-9-]*)=\{login\},([^{}]+=[^{}]+)$/.exec(template);
  if (!match) return 'a DN whose first part is {login}, e.g. uid={login},ou=people,dc=example,dc=com';
  return { attribute: match[1]!, render: (login) => `${match[1]}=${login},${match[2]}` };
}

/**
 * The ownership mark: one value of the group's mark attribute per grant, `stint grant ID KIND
 * VALUE`. `added`: this grant put VALUE in the group, so its revoke takes it out (or hands that
 * on to another grant's mark for the same VALUE). `held`: VALUE was in the group already (a
 * member outside Stint, or through another grant), so its revoke leaves the membership alone.
 */
interface Mark {
  raw: string;
  grantId: string;
  kind: 'added' | 'held';
  value: string;
}
const MARK = /^stint grant ([0-9a-f-]{36}) (added|held) (.+)$/;
const markText = (grantId: string, kind: Mark['kind'], value: string) => `stint grant ${grantId} ${kind} ${value}`;

/** LDAP result codes a retry may get past: busy, unavailable, a time limit, "other". Any other code is the directory's own "no". */
const RETRYABLE_CODES = new Set([3, 51, 52, 80]);

/**
 * Adds which step failed. Only the message is kept, never the original error as `cause`
 * (threat: whatever a request carried, the bind password among it, ending up in logs).
 */
function failure(what: string, error: unknown): Error {
  if (error instanceof ProviderRefusal) return error;
  const code = error instanceof ResultCodeError ? error.code : null;
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof ResultCodeError) {
    // ldapts writes the server's diagnostic text (often empty) and "Code: 0x31"; the class name
    // says what the code means.
    const diagnostic = message.replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '').trim();
    message = `${error.name}${diagnostic ? `: ${diagnostic}` : ''}`;
  }
  const text = `ldap-group provider: ${what}: ${message}${code === null ? '' : ` (LDAP ${code})`}`;
  // Refused or reset connections and timeouts carry no result code: retried.
  return code !== null && !RETRYABLE_CODES.has(code) ? new ProviderRefusal(text) : new Error(text);
}

async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw failure(what, error);
  }
}

const TIMEOUT_MS = 5000;

/**
 * Directory group membership. A grant puts its person in one group (`member`: their DN, or
 * `memberUid`: their login) and revoke takes them out; whatever reads the group (an app, a
 * database's LDAP login, sudo rules) gives the access. Nothing secret is handed to the grantee:
 * the membership is the credential. The group carries a mark per grant, so a revoke never takes
 * out a member the grant did not put there (docs/ldap-group-provider.md).
 *
 * The bind DN needs write access to the group's membership and mark attributes, and read access
 * to people. Tested on OpenLDAP 2.5.
 */
export const ldapGroupProvider: ProviderFactory = (system: SystemConfig) => {
  const parsed = LdapGroupSettings.safeParse(system.provider.settings);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; '));
  const settings = parsed.data;
  const template = settings.userDn === undefined ? null : parseUserDn(settings.userDn);
  if (typeof template === 'string') throw new Error(`userDn: ${template}`);
  const userDn = template;
  // Read at boot (and on reload) so a missing secret refuses to start, not fails a grant later.
  const bindPassword = readSecret(settings.bindPassword, 'bindPassword');
  const attribute = settings.membership;

  // One connection per issue or revoke, like the other providers; close() ends what is open.
  const open = new Set<Client>();

  async function withClient<T>(what: string, run: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ url: settings.url, timeout: TIMEOUT_MS, connectTimeout: TIMEOUT_MS });
    open.add(client);
    try {
      await step(`${what}: binding as ${settings.bindDn}`, () => client.bind(settings.bindDn, bindPassword));
      return await run(client);
    } finally {
      open.delete(client);
      await client.unbind().catch(() => undefined);
    }
  }

  const checkLogin = (login: string) =>
    LOGIN.test(login) ? null : `your login name ${JSON.stringify(login.slice(0, 80))} cannot be used in the directory as it is (letters, digits and . _ @ - only); Stint does not rewrite it`;

  /** The person's entry: the DN and the login exactly as the directory spells them. */
  async function findPerson(client: Client, login: string): Promise<{ dn: string; login: string }> {
    const loginAttribute = userDn ? userDn.attribute : settings.userSearch!.attribute;
    const equal = new EqualityFilter({ attribute: loginAttribute, value: login });
    let entries: { dn: string; [key: string]: unknown }[];
    try {
      entries = userDn
        ? (await client.search(userDn.render(login), { scope: 'base', filter: equal, attributes: [loginAttribute] })).searchEntries
        : (
            await client.search(settings.userSearch!.base, {
              scope: 'sub',
              filter: settings.userSearch!.filter ? new AndFilter({ filters: [equal, settings.userSearch!.filter.filter as Filter] }) : equal,
              attributes: [loginAttribute],
              sizeLimit: 2,
            })
          ).searchEntries;
    } catch (error) {
      if (error instanceof NoSuchObjectError && userDn) entries = [];
      else throw error;
    }
    // Matching rules are mostly case-insensitive: `ALICE` finds alice's entry. Only an entry
    // whose login is spelt exactly as the IdP's counts (threat: one person's login reaching
    // another's membership).
    const exact = entries.filter((e) => ([] as unknown[]).concat(e[loginAttribute] ?? []).some((v) => String(v) === login));
    if (exact.length === 0) throw new ProviderRefusal(`ldap-group provider: issue: no directory entry whose ${loginAttribute} is exactly ${JSON.stringify(login)}`);
    if (exact.length > 1 || entries.length > 1) throw new ProviderRefusal(`ldap-group provider: issue: several directory entries have ${loginAttribute}=${login}; the search must find one`);
    return { dn: exact[0]!.dn, login };
  }

  async function readMarks(client: Client): Promise<Mark[]> {
    const { searchEntries } = await client.search(settings.groupDn, { scope: 'base', attributes: [settings.markAttribute] });
    const group = searchEntries[0];
    if (!group) throw new ProviderRefusal(`ldap-group provider: the group ${settings.groupDn} cannot be read`);
    const values = ([] as unknown[]).concat(Object.entries(group).find(([k]) => k.toLowerCase() === settings.markAttribute.toLowerCase())?.[1] ?? []);
    return values.flatMap((v) => {
      const match = MARK.exec(String(v));
      return match ? [{ raw: String(v), grantId: match[1]!, kind: match[2] as Mark['kind'], value: match[3]! }] : [];
    });
  }

  const change = (operation: 'add' | 'delete', type: string, value: string) => new Change({ operation, modification: new Attribute({ type, values: [value] }) });
  const addMark = (grantId: string, kind: Mark['kind'], value: string) => change('add', settings.markAttribute, markText(grantId, kind, value));
  const dropMark = (mark: Mark) => change('delete', settings.markAttribute, mark.raw);

  /** The group modified in one operation: the directory applies every change or none. */
  const modify = (client: Client, changes: Change[]) => client.modify(settings.groupDn, changes);

  /**
   * Makes sure a marked grant's person is in the group: one that vanished meanwhile (taken out
   * by hand, or by another grant's revoke racing this issue) is put back, and this grant's mark
   * becomes `added` so its revoke takes it out again.
   */
  async function ensureMember(client: Client, mark: Mark): Promise<void> {
    if (await step('check membership', () => client.compare(settings.groupDn, attribute, mark.value))) return;
    await step('add member', () => modify(client, [...(mark.kind === 'held' ? [dropMark(mark), addMark(mark.grantId, 'added', mark.value)] : []), change('add', attribute, mark.value)]));
  }

  function credential(value: string, expiresAt: number): IssuedCredential {
    return {
      // Nothing secret: the membership is the access. Named so the grantee sees what they got.
      fields: { group: settings.groupDn, [attribute]: value, expiresAt: new Date(expiresAt).toISOString() },
      env: {},
      state: { member: value },
    };
  }

  const provider: Provider = {
    type: 'ldap-group',
    needsPublicKey: false,
    checkUser: (user) => checkLogin(user.login),

    async close() {
      const clients = [...open];
      open.clear();
      await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
    },

    async probe() {
      await withClient('probe', async (client) => {
        await step(`read group ${settings.groupDn}`, () => readMarks(client));
        if (settings.userSearch) await step(`read ${settings.userSearch.base}`, () => client.search(settings.userSearch!.base, { scope: 'base', attributes: ['1.1'] }));
      });
    },

    async issue(input: IssueInput) {
      const refused = checkLogin(input.user.login);
      if (refused) throw new ProviderRefusal(`ldap-group provider: issue: ${refused}`);
      const value = await withClient('issue', async (client) => {
        // Idempotent per grant: an earlier attempt whose answer was lost left its mark; the
        // membership it names is made sure of, under the value it names.
        const earlier = (await step('read group', () => readMarks(client))).find((m) => m.grantId === input.grantId);
        if (earlier) {
          await ensureMember(client, earlier);
          return earlier.value;
        }
        const person = await step('find person', () => findPerson(client, input.user.login));
        const value = attribute === 'member' ? person.dn : person.login;
        try {
          await modify(client, [addMark(input.grantId, 'added', value), change('add', attribute, value)]);
          return value;
        } catch (error) {
          if (!(error instanceof TypeOrValueExistsError)) throw failure('add member', error);
        }
        // Already a member (outside Stint, or through another grant): mark that, and leave the
        // membership to whoever put it there.
        try {
          await modify(client, [addMark(input.grantId, 'held', value)]);
        } catch (error) {
          // A second attempt for this grant marked it meanwhile: its mark stands.
          if (!(error instanceof TypeOrValueExistsError)) throw failure('mark membership', error);
        }
        const mark = (await step('read group', () => readMarks(client))).find((m) => m.grantId === input.grantId);
        if (!mark) throw new Error(`ldap-group provider: issue: the mark of grant ${input.grantId} vanished while it was made`);
        await ensureMember(client, mark);
        return mark.value;
      });
      return credential(value, input.expiresAt);
    },

    async revoke(input) {
      await withClient('revoke', async (client) => {
        const marks = await step('read group', () => readMarks(client));
        const mine = marks.find((m) => m.grantId === input.grantId);
        const recorded = typeof input.state.member === 'string' ? input.state.member : null;
        // Threat: a provider_state edited in the store naming someone else, whom revoke would
        // then take out. Only the mark says what this grant put in the group; with no mark there
        // is nothing to take out (never made, or revoked already: revoke is idempotent).
        if (!mine) return;
        if (recorded !== null && recorded !== mine.value) throw new Error(`refusing to touch member ${JSON.stringify(recorded)}: grant ${input.grantId} did not put it in ${settings.groupDn}`);
        const heir = marks.find((m) => m.grantId !== input.grantId && m.value === mine.value && m.kind === 'held');
        const changes =
          mine.kind === 'held'
            ? [dropMark(mine)]
            : heir
              ? // Another live grant for the same person: it takes over the membership.
                [dropMark(mine), dropMark(heir), addMark(heir.grantId, 'added', heir.value)]
              : [dropMark(mine), change('delete', attribute, mine.value)];
        try {
          await modify(client, changes);
        } catch (error) {
          if (error instanceof NoSuchAttributeError) {
            // The member (or a mark) is gone already: taken out by hand, or by an attempt that
            // raced this one. Only this grant's mark is left to remove, if it is still there.
            try {
              await modify(client, [dropMark(mine)]);
            } catch (again) {
              if (!(again instanceof NoSuchAttributeError)) throw failure('remove mark', again);
            }
            return;
          }
          if (error instanceof ObjectClassViolationError) {
            throw new Error(`ldap-group provider: revoke: ${settings.groupDn} cannot be left without members (a groupOfNames needs one); give it a placeholder member (LDAP 65)`);
          }
          throw failure('remove member', error);
        }
      });
    },
  };
  return provider;
};
