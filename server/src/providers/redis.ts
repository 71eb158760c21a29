import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { readSecret } from '../config/load';
import { SecretRef, type SystemConfig } from '../config/schema';
// The same names as the PostgreSQL provider's roles: sanitised placeholders and the grant token.
import { renderRoleName as renderUserName } from './postgres';
import { ProviderRefusal, type IssueInput, type IssuedCredential, type Provider, type ProviderFactory } from './provider';

const PLACEHOLDERS = ['user', 'grant', 'system'] as const;

/**
 * A key or channel pattern, a command rule or a user-name template as Redis keeps it in its ACL
 * file: one word of printable ASCII. Threat: ACL SAVE writes rules unquoted, and Redis reads the
 * file back with quote handling, so a space, quote or parenthesis in a rule could turn into a
 * different rule (or a file Redis refuses to start with) at the next restart.
 */
const ACL_WORD = /^[!#-&*-~]+$/;
const AclWord = z
  .string()
  .min(1)
  .regex(ACL_WORD, 'printable ASCII without spaces, quotes or parentheses');

/** `+@read`, `-@dangerous`, `+get`, `-flushall`, `+config|get`. */
const CommandRule = z
  .string()
  .regex(/^[+-]@?[a-z][a-z0-9_-]*(\|[a-z0-9_-]+)?$/i, 'a command rule: +@category, -@category, +command, -command or +command|subcommand');

const RedisSettings = z.strictObject({
  /** redis:// (or rediss://) URL of a user allowed ACL, CLIENT KILL and CONFIG GET; a secret, so only a reference. */
  adminUrl: SecretRef,
  /** Key patterns the grantee may touch (`~pattern` each), e.g. `app:*`. */
  keys: z.array(AclWord).min(1, 'name at least one key pattern (`*` for all keys)'),
  /** Pub/Sub channel patterns (`&pattern` each); none by default. */
  channels: z.array(AclWord).default([]),
  /** Command rules applied in order after `-@all`; read-only by default. */
  commands: z.array(CommandRule).min(1).default(['+@read']),
  userNameTemplate: z.string().min(1).default('stint_{user}_{grant}'),
  connectHost: z.string().min(1).optional(),
  connectPort: z.number().int().min(1).max(65_535).optional(),
  /**
   * Whether to run ACL SAVE after a change. `auto` asks the server (CONFIG GET aclfile); a user
   * made or deleted without it is lost or restored at Redis's next restart.
   */
  saveAcl: z.enum(['auto', 'always', 'never']).default('auto'),
});
type RedisSettings = z.output<typeof RedisSettings>;

function checkTemplate(template: string): string | null {
  const unknown = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((p) => !PLACEHOLDERS.includes(p as (typeof PLACEHOLDERS)[number]));
  if (unknown.length > 0) return `unknown placeholder {${unknown[0]}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`;
  // Threat: two grants sharing one user, so revoking one (or its expiry) ends the other.
  if (!template.includes('{grant}')) return 'must contain {grant}, so every grant gets its own user';
  if (!ACL_WORD.test(template.replace(/\{(user|grant|system)\}/g, 'x'))) return 'printable ASCII without spaces, quotes or parentheses';
  return null;
}

interface Target {
  host: string;
  port: number;
  tls: boolean;
  adminUser: string | undefined;
  adminPassword: string | undefined;
  /** Where the grantee connects. */
  connectHost: string;
  connectPort: string;
}

/** Never quotes the URL in an error: it holds the admin password. */
function resolveTarget(settings: RedisSettings, adminUrl: string): Target {
  let url: URL;
  try {
    url = new URL(adminUrl);
  } catch {
    throw new Error('adminUrl: the secret is not a URL (expected redis://user:password@host:port)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`adminUrl: the secret's scheme is ${url.protocol.replace(/:$/, '')}, expected redis or rediss`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new Error('adminUrl: the secret names no host');
  const port = Number(url.port) || 6379;
  return {
    host,
    port,
    tls: url.protocol === 'rediss:',
    adminUser: url.username ? decodeURIComponent(url.username) : undefined,
    adminPassword: url.password ? decodeURIComponent(url.password) : undefined,
    connectHost: settings.connectHost ?? host,
    connectPort: String(settings.connectPort ?? port),
  };
}

/**
 * Marks a user as this grant's: a selector that allows no command at all, on a key named after
 * the grant. It gives nothing, but ACL GETUSER and the ACL file show it, so revoke deletes only
 * a user carrying its own grant's mark (Redis users have no comment field).
 */
const markKey = (grantId: string) => `stint:grant:${grantId}`;
const markRule = (grantId: string) => `(~${markKey(grantId)} -@all)`;

interface AclUser {
  selectors: { keys: string; commands: string }[];
}

/** ACL GETUSER's reply (RESP2: alternating names and values), or null when there is no such user. */
function parseUser(reply: unknown): AclUser | null {
  if (!Array.isArray(reply)) return null;
  const fields = pairs(reply);
  const selectors = Array.isArray(fields.selectors) ? fields.selectors.filter(Array.isArray).map((s) => pairs(s as unknown[])) : [];
  return { selectors: selectors.map((s) => ({ keys: String(s.keys ?? ''), commands: String(s.commands ?? '') })) };
}

function pairs(list: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = list[i + 1];
  return out;
}

const isMarked = (user: AclUser, grantId: string) => user.selectors.some((s) => s.keys === `~${markKey(grantId)}` && s.commands === '-@all');

/**
 * Adds which step failed. Only the message is kept, never the original error as `cause`:
 * ioredis hangs the command's arguments off a reply error, and the AUTH it sends at connect
 * carries the admin password (threat: the admin secret in logs).
 */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ProviderRefusal) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const text = `redis provider: ${what}: ${message}`;
    // Redis's own "no": the admin lacks a permission (NOPERM), cannot log in (WRONGPASS,
    // NOAUTH), or a configured rule names an unknown command or category. A retry cannot get
    // past them; anything else (refused, reset or timed-out connections, LOADING, a failed
    // ACL SAVE) may pass, and is retried.
    throw /^(NOPERM|WRONGPASS|NOAUTH)\b|^ERR Error in ACL SETUSER modifier|not configured to use an ACL file/.test(message) ? new ProviderRefusal(text) : new Error(text);
  }
}

/**
 * Resolves once the admin is logged in. connect() alone rejects with "Connection is closed."
 * only after the socket closes (seconds later against a server that stopped reading), while the
 * 'error' event says why at once (WRONGPASS, ECONNREFUSED, a timed-out AUTH).
 */
function connected(client: Redis, lastError: () => Error | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => {
      client.off('error', fail);
      reject(lastError() ?? error);
    };
    client.on('error', fail);
    client.connect().then(() => {
      client.off('error', fail);
      resolve();
    }, fail);
  });
}

const CONNECT_TIMEOUT_MS = 5000;
const COMMAND_TIMEOUT_MS = 5000;

/**
 * Redis ACL users. Each grant gets its own user with a random password and the configured key
 * patterns, channels and command rules; revoke disables it, kills its connections and deletes
 * it. Redis users have no expiry of their own, so the server's revoke is what ends a grant
 * (docs/redis-provider.md says what follows from that).
 *
 * The admin needs `+acl +client|kill +config|get` (the last only with saveAcl: auto).
 * Tested on Redis 7.0, with and without an ACL file.
 */
export const redisProvider: ProviderFactory = (system: SystemConfig) => {
  const parsed = RedisSettings.safeParse(system.provider.settings);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; '));
  const settings = parsed.data;
  const templateProblem = checkTemplate(settings.userNameTemplate);
  if (templateProblem) throw new Error(`userNameTemplate: ${templateProblem}`);
  // Read at boot (and on reload) so a missing secret refuses to start, not fails a grant later.
  const target = resolveTarget(settings, readSecret(settings.adminUrl, 'adminUrl'));

  // One connection per issue or revoke: grants are rare, and a fresh connection has no state
  // left over from a Redis restart. close() ends whatever is still open.
  const open = new Set<Redis>();

  async function withClient<T>(what: string, run: (client: Redis) => Promise<T>): Promise<T> {
    let lastError: Error | undefined;
    const client = new Redis({
      host: target.host,
      port: target.port,
      username: target.adminUser,
      password: target.adminPassword,
      ...(target.tls ? { tls: { servername: target.host } } : {}),
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // A server that accepts and then stalls must not hold a grant's attempt (and its lease) forever.
      commandTimeout: COMMAND_TIMEOUT_MS,
      // No reconnecting and no queueing: a lost connection fails the attempt now, and the
      // server's retry with backoff makes the next one on a fresh connection.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      // Only what the admin must be allowed: no INFO (ready check), no CLIENT SETINFO. RESP2
      // replies (ACL GETUSER as a flat list) are the same on every Redis with ACLs.
      enableReadyCheck: false,
      disableClientInfo: true,
      protocol: 2,
    });
    // ioredis emits 'error' for a refused connection, a failed AUTH or a dropped connection;
    // with no listener it writes the stack to stderr, past the server's logger. The command in
    // flight fails on its own and the caller reports it.
    client.on('error', (error: Error) => (lastError = error));
    open.add(client);
    try {
      await step(`${what}: connecting as admin`, () => connected(client, () => lastError));
      return await run(client);
    } finally {
      open.delete(client);
      client.disconnect();
    }
  }

  async function getUser(client: Redis, name: string): Promise<AclUser | null> {
    return parseUser(await client.call('ACL', 'GETUSER', name));
  }

  /** The user recorded for a grant, or the one carrying its mark (an issue whose reply was lost). */
  async function findUser(client: Redis, grantId: string, state: Record<string, unknown>): Promise<string | null> {
    const recorded = typeof state.user === 'string' && state.user.length > 0 ? state.user : null;
    if (recorded) {
      const user = await getUser(client, recorded);
      if (!user) return null;
      // Threat: a provider_state edited in the store naming a user Stint did not make (the
      // admin, an application's user), which revoke would then delete.
      if (!isMarked(user, grantId)) throw new Error(`refusing to touch user ${JSON.stringify(recorded)}: it was not created by Stint for grant ${grantId}`);
      return recorded;
    }
    const lines = (await client.call('ACL', 'LIST')) as string[];
    for (const line of lines) {
      if (!line.includes(`~${markKey(grantId)}`)) continue;
      const name = line.split(' ')[1];
      const user = name ? await getUser(client, name) : null;
      if (name && user && isMarked(user, grantId)) return name;
    }
    return null;
  }

  /** ACL SAVE, where the server keeps its users in an ACL file. */
  async function persist(client: Redis): Promise<void> {
    if (settings.saveAcl === 'never') return;
    if (settings.saveAcl === 'auto') {
      const reply = await step('read the aclfile setting (allow the admin +config|get, or set saveAcl)', () => client.call('CONFIG', 'GET', 'aclfile'));
      const file = Array.isArray(reply) ? reply[1] : undefined;
      if (typeof file !== 'string' || file === '') return;
    }
    await step('save ACL file', () => client.call('ACL', 'SAVE'));
  }

  function credential(user: string, password: string, expiresAt: number): IssuedCredential {
    const host = target.connectHost;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    const scheme = target.tls ? 'rediss' : 'redis';
    return {
      fields: { host, port: target.connectPort, user, password, expiresAt: new Date(expiresAt).toISOString() },
      env: {
        REDIS_URL: `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${hostPart}:${target.connectPort}`,
        // redis-cli reads the password from here, so it never needs -a (visible in ps).
        REDISCLI_AUTH: password,
        STINT_REDIS_HOST: host,
        STINT_REDIS_PORT: target.connectPort,
        STINT_REDIS_USER: user,
        ...(target.tls ? { STINT_REDIS_TLS: '1' } : {}),
      },
      // Only the name: state is stored in clear.
      state: { user },
    };
  }

  const provider: Provider = {
    type: 'redis',
    needsPublicKey: false,

    async close() {
      for (const client of open) client.disconnect();
      open.clear();
    },

    async probe() {
      await withClient('probe', async (client) => {
        const admin = String(await step('who am I (allow the admin +acl)', () => client.call('ACL', 'WHOAMI')));
        // What issue and revoke will run, asked of Redis's own ACL check without running it.
        const commands = [
          ['ACL', 'SETUSER', 'stint-probe'],
          ['ACL', 'DELUSER', 'stint-probe'],
          ['CLIENT', 'KILL', 'USER', 'stint-probe'],
          ...(settings.saveAcl === 'auto' ? [['CONFIG', 'GET', 'aclfile']] : []),
          ...(settings.saveAcl === 'never' ? [] : [['ACL', 'SAVE']]),
        ];
        for (const command of commands) {
          const answer = String(await step('check permissions', () => client.call('ACL', 'DRYRUN', admin, ...command)));
          if (answer !== 'OK') throw new ProviderRefusal(`redis provider: probe: ${answer}`);
        }
      });
    },

    async issue(input: IssueInput) {
      const name = renderUserName(settings.userNameTemplate, { user: input.user.login, grantId: input.grantId, system: input.system.id });
      // 32 random bytes: nothing to guess, and base64url needs no quoting in a URL or a shell.
      const password = randomBytes(32).toString('base64url');
      // Only the SHA-256 reaches Redis (what it stores anyway). Threat: a `>password` rule
      // crosses the network in the command (in clear without TLS) and shows in a proxy's or a
      // command-logging client's output.
      const hash = createHash('sha256').update(password).digest('hex');
      const issuedAs = await withClient('issue', async (client) => {
        // Idempotent per grant: an earlier attempt whose answer was lost left the user, marked
        // for this grant. It is taken up again (under its name, even if the template changed)
        // and reset with a new password: the lost one was never recorded.
        const earlier = await step('find user', () => findUser(client, input.grantId, {}));
        const user = earlier ?? name;
        // `reset` would take over any user of that name: one Stint did not make is left alone.
        if (!earlier && (await step('look up user', () => getUser(client, user)))) {
          throw new ProviderRefusal(`redis provider: issue: a user named ${user} exists and was not created by Stint for this grant`);
        }
        // One command, applied by Redis all or nothing: `reset` drops whatever an earlier
        // attempt set (passwords, rules), so the user has exactly these rules afterwards.
        await step('set user', () =>
          client.call(
            'ACL',
            'SETUSER',
            user,
            'reset',
            'on',
            `#${hash}`,
            ...settings.keys.map((k) => `~${k}`),
            ...settings.channels.map((c) => `&${c}`),
            ...settings.commands,
            markRule(input.grantId),
          ),
        );
        await persist(client);
        return user;
      });
      return credential(issuedAs, password, input.expiresAt);
    },

    async revoke(input) {
      await withClient('revoke', async (client) => {
        const user = await step('find user', () => findUser(client, input.grantId, input.state));
        if (user) {
          // First: no new connection can log in, so none appears between the kill and the delete.
          await step('disable user', () => client.call('ACL', 'SETUSER', user, 'off'));
          await step('end connections', () => client.call('CLIENT', 'KILL', 'USER', user));
          await step('delete user', () => client.call('ACL', 'DELUSER', user));
        }
        // Also when the user is already gone: an earlier attempt may have deleted it and stopped
        // before saving, and the ACL file would bring it back at Redis's next restart.
        await persist(client);
      });
    },
  };
  return provider;
};
