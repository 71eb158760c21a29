import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { readSecret } from '../config/load';
import { SecretRef, type SystemConfig } from '../config/schema';
import { grantToken } from './grant-token';
import { ProviderRefusal, type IssueInput, type IssuedCredential, type Provider, type ProviderFactory } from './provider';

const pbkdf2Async = promisify(pbkdf2);

/** PostgreSQL truncates longer identifiers silently (NAMEDATALEN - 1), counted in bytes. */
const MAX_IDENTIFIER_BYTES = 63;
const PLACEHOLDERS = ['user', 'grant', 'system'] as const;
const MAX_PLACEHOLDER_CHARS = 20;

const Identifier = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s) <= MAX_IDENTIFIER_BYTES, `at most ${MAX_IDENTIFIER_BYTES} bytes`)
  // eslint-disable-next-line no-control-regex -- exactly what is refused
  .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'no control characters');

const PostgresSettings = z.strictObject({
  /** postgres:// URL of a role with CREATEROLE; a secret, so only a reference is configured. */
  adminUrl: SecretRef,
  /** Where the grantee connects; defaults to the admin URL's database. */
  database: Identifier.optional(),
  /** Existing group roles the temporary role joins: they carry all the privileges. */
  roles: z.array(Identifier).min(1, 'name at least one group role to grant'),
  roleNameTemplate: z.string().min(1).default('stint_{user}_{grant}'),
  connectHost: z.string().min(1).optional(),
  connectPort: z.number().int().min(1).max(65_535).optional(),
  sslmode: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']).optional(),
  /** Caps what one grant can hold open on the server. */
  connectionLimit: z.number().int().min(1).max(1000).default(10),
});
type PostgresSettings = z.output<typeof PostgresSettings>;

/** Lower-case, [a-z0-9_] only, runs of anything else become one `_`, never empty. */
function sanitise(value: string, max: number, fallback: string): string {
  const clean = value
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, max)
    .replace(/_+$/, '');
  return clean || fallback;
}

/**
 * The temporary role's name. `{grant}` makes it the grant's own (grantToken: the id's random
 * bits), so no two grants share a role whatever the rest says: `Bob.Smith` and `bob.smith`
 * both read `bob_smith` in `{user}`, which is only there for people reading role lists.
 * Placeholder values are sanitised (a user sub is whatever the IdP says, e.g.
 * `robert'); DROP ROLE postgres; --`); the template's own text is the operator's and is kept as
 * written: every use of the name is escaped, so odd characters cannot break out.
 */
export function renderRoleName(template: string, values: { user: string; grantId: string; system: string }): string {
  return template
    .replaceAll('{user}', sanitise(values.user, MAX_PLACEHOLDER_CHARS, 'user'))
    .replaceAll('{grant}', grantToken(values.grantId))
    .replaceAll('{system}', sanitise(values.system, MAX_PLACEHOLDER_CHARS, 'system'));
}

function checkTemplate(template: string, systemId: string): string | null {
  const unknown = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((p) => !PLACEHOLDERS.includes(p as (typeof PLACEHOLDERS)[number]));
  if (unknown.length > 0) return `unknown placeholder {${unknown[0]}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`;
  // Threat: two grants sharing one role, so revoking one (or its expiry) ends the other, and
  // a live grant's role could be dropped by someone else's revoke.
  if (!template.includes('{grant}')) return 'must contain {grant}, so every grant gets its own role';
  // eslint-disable-next-line no-control-regex -- exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(template)) return 'no control characters';
  const longest = renderRoleName(template, { user: 'u'.repeat(MAX_PLACEHOLDER_CHARS), grantId: 'ffffffff-ffff-7fff-bfff-ffffffffffff', system: systemId });
  if (Buffer.byteLength(longest) > MAX_IDENTIFIER_BYTES) return `names can reach ${Buffer.byteLength(longest)} bytes; PostgreSQL keeps ${MAX_IDENTIFIER_BYTES}`;
  if (/^pg_/i.test(longest)) return 'names starting with pg_ are reserved by PostgreSQL';
  return null;
}

interface Target {
  /** Admin connection string pointed at the grant's database (roles are cluster-wide). */
  adminConnection: string;
  host: string;
  port: string;
  database: string;
}

/** Never quotes the URL in an error: it holds the admin password. */
function resolveTarget(settings: PostgresSettings, adminUrl: string): Target {
  let url: URL;
  try {
    url = new URL(adminUrl);
  } catch {
    throw new Error('adminUrl: the secret is not a URL (expected postgres://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error(`adminUrl: the secret's scheme is ${url.protocol.replace(/:$/, '')}, expected postgres`);
  const database = settings.database ?? (decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres');
  const host = settings.connectHost ?? url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new Error('connectHost: required when adminUrl names no host (a Unix socket)');
  url.pathname = `/${encodeURIComponent(database)}`;
  return { adminConnection: url.toString(), host, port: String(settings.connectPort ?? (Number(url.port) || 5432)), database };
}

/**
 * A SCRAM-SHA-256 verifier as PostgreSQL stores it (RFC 5802/7677, what libpq's
 * PQencryptPasswordConn makes). Threat: a plain `PASSWORD '...'` travels in the statement text,
 * so statement logging (log_statement = ddl/all), pg_stat_activity and pg_stat_statements would
 * show it; a verifier of 32 random bytes is useless to whoever reads those.
 */
async function scramVerifier(password: string): Promise<string> {
  const iterations = 4096;
  const salt = randomBytes(16);
  // The password is base64url (ASCII), so SASLprep leaves it unchanged.
  const salted = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Marks a role as this grant's: revoke drops only a role carrying its own grant's mark. */
const markOf = (grantId: string) => `stint grant ${grantId}`;

/**
 * Adds which step failed. Only the message (and SQLSTATE) is kept, never the original error as
 * `cause`: pg hangs connection objects off some errors, and those hold the admin password,
 * which a logger walking the error would print (threat: the admin secret in logs).
 */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
    const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? ` (SQLSTATE ${code})` : '';
    const text = `postgres provider: ${what}: ${typeof message === 'string' ? message : String(error)}${sqlstate}`;
    // Class 42 (a missing group role, a privilege the admin lacks) and 28 (the admin cannot
    // log in) are the database's own "no": a retry cannot get past them; anything else
    // (connection refused, a restart) may pass, and is retried.
    throw typeof code === 'string' && /^(42|28)/.test(code) ? new ProviderRefusal(text) : new Error(text);
  }
}

const SESSION_EXIT_WAIT_MS = 5000;

/**
 * Temporary PostgreSQL login roles. Each grant gets its own role, a member of the configured
 * group roles, with a random password and `VALID UNTIL` the deadline, so the credential dies on
 * time even if Stint is down; revoke kills its sessions and drops it.
 *
 * The admin role needs CREATEROLE (on PostgreSQL 16+, also ADMIN OPTION on each group role).
 * Tested on PostgreSQL 15, with a superuser and with a plain CREATEROLE role.
 */
export const postgresProvider: ProviderFactory = (system: SystemConfig) => {
  const parsed = PostgresSettings.safeParse(system.provider.settings);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; '));
  const settings = parsed.data;
  const templateProblem = checkTemplate(settings.roleNameTemplate, system.id);
  if (templateProblem) throw new Error(`roleNameTemplate: ${templateProblem}`);
  // Read at boot (and on reload) so a missing secret refuses to start, not fails a grant later.
  const target = resolveTarget(settings, readSecret(settings.adminUrl, 'adminUrl'));

  // Created on first use: the factory runs at boot and on every reload and must not connect.
  let pool: pg.Pool | null = null;
  const getPool = () => {
    if (!pool) {
      pool = new pg.Pool({
        connectionString: target.adminConnection,
        max: 4,
        connectionTimeoutMillis: 5000,
        idleTimeoutMillis: 10_000,
        statement_timeout: 15_000,
        query_timeout: 20_000,
        application_name: 'stint',
        // A reload builds a new provider; the old pool must not hold the process open.
        allowExitOnIdle: true,
      });
      // An idle client whose server went away emits 'error' on the pool; unhandled, that
      // would crash the server. The next query fails on its own and is reported by the caller.
      pool.on('error', () => undefined);
      // pg-pool takes its listener off a client it hands out, so a checked-out client that hears
      // of the server's end between two queries (PostgreSQL restarting: FATAL 57P01) would emit
      // an unhandled 'error' and crash the server. Its next query fails and is reported instead.
      pool.on('connect', (client) => client.on('error', () => undefined));
    }
    return pool;
  };

  async function withClient<T>(what: string, run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await step(`${what}: connecting as admin`, () => getPool().connect());
    let broken: Error | undefined;
    try {
      return await run(client);
    } catch (error) {
      broken = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // A client that failed mid-statement may be in any state: do not hand it out again.
      client.release(broken);
    }
  }

  function credential(role: string, password: string, expiresAt: number): IssuedCredential {
    const expires = new Date(expiresAt).toISOString();
    const hostPart = target.host.includes(':') ? `[${target.host}]` : target.host;
    const query = settings.sslmode ? `?sslmode=${settings.sslmode}` : '';
    const url = `postgres://${encodeURIComponent(role)}:${encodeURIComponent(password)}@${hostPart}:${target.port}/${encodeURIComponent(target.database)}${query}`;
    return {
      fields: { host: target.host, port: target.port, database: target.database, user: role, password, expiresAt: expires },
      env: {
        PGHOST: target.host,
        PGPORT: target.port,
        PGDATABASE: target.database,
        PGUSER: role,
        PGPASSWORD: password,
        ...(settings.sslmode ? { PGSSLMODE: settings.sslmode } : {}),
        DATABASE_URL: url,
      },
      // Only the name: state is stored in clear.
      state: { role },
    };
  }

  /** The role recorded for a grant, or the one carrying its mark (an issue whose reply was lost). */
  async function findRole(client: pg.PoolClient, grantId: string, state: Record<string, unknown>): Promise<string | null> {
    const recorded = typeof state.role === 'string' && state.role.length > 0 ? state.role : null;
    const found = await client.query<{ rolname: string; mark: string | null }>(
      `SELECT r.rolname, d.description AS mark
         FROM pg_roles r
         LEFT JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
        WHERE ${recorded ? 'r.rolname' : 'd.description'} = $1`,
      [recorded ?? markOf(grantId)],
    );
    const row = found.rows[0];
    if (!row) return null;
    // Threat: a provider_state edited in the store (or a template clash) naming a role Stint
    // did not make, e.g. the admin or an application role, which revoke would then drop.
    if (row.mark !== markOf(grantId)) throw new Error(`refusing to touch role ${JSON.stringify(row.rolname)}: it was not created by Stint for grant ${grantId}`);
    return row.rolname;
  }

  const provider: Provider = {
    type: 'postgres',
    needsPublicKey: false,

    async close() {
      const open = pool;
      pool = null;
      await open?.end();
    },

    async issue(input: IssueInput) {
      const role = renderRoleName(settings.roleNameTemplate, { user: input.user.login, grantId: input.grantId, system: input.system.id });
      // 32 random bytes: nothing to guess, and base64url needs no quoting in a URL or a shell.
      const password = randomBytes(32).toString('base64url');
      const verifier = await scramVerifier(password);
      // The role an earlier attempt made keeps its name, even if the template changed since.
      const issuedAs = await withClient('issue', async (client) => {
        const name = client.escapeIdentifier(role);
        // DDL takes no bind parameters, so every name and value goes through the driver's
        // escaping (threat: SQL injection through a user sub, template or setting).
        // One transaction: the role exists with its mark and membership, or not at all.
        await client.query('BEGIN');
        // Two attempts for one grant (a lease that lapsed under a slow database) queue here
        // instead of both trying CREATE ROLE, where the loser would read as a refusal.
        await step('lock grant', () => client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [markOf(input.grantId)]));
        // Idempotent per grant: an earlier attempt whose answer was lost (the server stopped)
        // left the role, marked for this grant. It is taken up again with a new password
        // (the lost one was never recorded), its deadline and memberships set as on creation.
        const earlier = await step('find role', () => findRole(client, input.grantId, {}));
        if (earlier) {
          await step('alter role', () =>
            client.query(
              `ALTER ROLE ${client.escapeIdentifier(earlier)} WITH LOGIN PASSWORD ${client.escapeLiteral(verifier)}` +
                ` VALID UNTIL ${client.escapeLiteral(new Date(input.expiresAt).toISOString())}`,
            ),
          );
          await step('grant group roles', () => client.query(`GRANT ${settings.roles.map((r) => client.escapeIdentifier(r)).join(', ')} TO ${client.escapeIdentifier(earlier)}`));
          await client.query('COMMIT');
          return earlier;
        }
        // INHERIT so the group roles' privileges apply without SET ROLE; the NO* attributes
        // are the defaults, spelt out so nothing else can be implied. CREATE ROLE fails if the
        // name exists: an existing role is never taken over.
        await step('create role', () =>
          client.query(
            `CREATE ROLE ${name} WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS` +
              ` CONNECTION LIMIT ${settings.connectionLimit}` +
              ` PASSWORD ${client.escapeLiteral(verifier)}` +
              ` VALID UNTIL ${client.escapeLiteral(new Date(input.expiresAt).toISOString())}` +
              ` IN ROLE ${settings.roles.map((r) => client.escapeIdentifier(r)).join(', ')}`,
          ),
        );
        await step('mark role', () => client.query(`COMMENT ON ROLE ${name} IS ${client.escapeLiteral(markOf(input.grantId))}`));
        // A CREATEROLE admin that is not a superuser may terminate the role's sessions and
        // reassign what it owns only as a member of it (PostgreSQL checks has_privs_of_role).
        await step('grant role to admin', () => client.query(`GRANT ${name} TO CURRENT_USER`));
        await client.query('COMMIT');
        return role;
      });
      return credential(issuedAs, password, input.expiresAt);
    },

    async revoke(input) {
      await withClient('revoke', async (client) => {
        const role = await step('find role', () => findRole(client, input.grantId, input.state));
        if (!role) return; // never made, or already dropped: revoke is idempotent
        const name = client.escapeIdentifier(role);
        // First: no new session can start, so none appears between the kill and the drop.
        await step('forbid login', () => client.query(`ALTER ROLE ${name} NOLOGIN`));
        await step('end sessions', async () => {
          const deadline = Date.now() + SESSION_EXIT_WAIT_MS;
          for (;;) {
            const live = await client.query<{ pid: number }>('SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
            if (live.rowCount === 0) return;
            // Terminating is a signal: wait until the backends are really gone.
            if (Date.now() > deadline) throw new Error(`${live.rowCount} session(s) of ${role} did not end within ${SESSION_EXIT_WAIT_MS} ms`);
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        });
        await client.query('BEGIN');
        // Objects the grantee created (where a group role allows it) stay, owned by the admin.
        await step('reassign owned objects', () => client.query(`REASSIGN OWNED BY ${name} TO CURRENT_USER`));
        await step('drop privileges', () => client.query(`DROP OWNED BY ${name}`));
        await step('drop role', () => client.query(`DROP ROLE ${name}`));
        await client.query('COMMIT');
      });
    },

    /**
     * Moves VALID UNTIL and rotates the password. The password is not kept anywhere (state is
     * stored in clear), so a full credential can only be returned with a new one; and the old
     * one, already copied into shells and /proc/<pid>/environ, stops opening new sessions.
     * Sessions already open are not affected (PostgreSQL checks the password at login only).
     */
    async extend(input) {
      const password = randomBytes(32).toString('base64url');
      const verifier = await scramVerifier(password);
      const role = await withClient('extend', async (client) => {
        const found = await step('find role', () => findRole(client, input.grantId, input.state));
        if (!found) throw new Error(`postgres provider: extend: the role of grant ${input.grantId} no longer exists`);
        await step('alter role', () =>
          client.query(
            `ALTER ROLE ${client.escapeIdentifier(found)} WITH PASSWORD ${client.escapeLiteral(verifier)}` +
              ` VALID UNTIL ${client.escapeLiteral(new Date(input.expiresAt).toISOString())}`,
          ),
        );
        return found;
      });
      return credential(role, password, input.expiresAt);
    },
  };
  return provider;
};
