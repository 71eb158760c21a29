import { createHash, randomBytes } from 'node:crypto';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { z } from 'zod';
import { readSecret } from '../config/load';
import { SecretRef, type SystemConfig } from '../config/schema';
// The same names as the PostgreSQL provider's roles: sanitised placeholders and the grant token.
import { renderRoleName as renderUserName } from './postgres';
import { ProviderRefusal, type IssueInput, type IssuedCredential, type Provider, type ProviderFactory } from './provider';

const PLACEHOLDERS = ['user', 'grant', 'system'] as const;
const MAX_PLACEHOLDER_CHARS = 20;
/** MariaDB 10.6+ keeps user names of up to 128 characters (MySQL: 32). */
const MAX_USER_NAME_CHARS = 128;

/**
 * Database and table names as the settings may spell them: letters, digits, `_`, `$` and `-`,
 * up to 64 characters, optionally in backquotes. Threat: SQL injection through a setting. DDL
 * takes no bind parameters, so names are written into statements; this alphabet needs no
 * escaping in backquotes under any sql_mode (NO_BACKSLASH_ESCAPES, ANSI_QUOTES).
 */
const NAME = /^[A-Za-z0-9_$-]{1,64}$/;
const unquote = (text: string) => (/^`[^`]*`$/.test(text) ? text.slice(1, -1) : text);

/** Account names and host patterns go into '...' literals: an alphabet with no quote or backslash. */
const USER_TEXT = /^[A-Za-z0-9_.$-]+$/;
const AccountHost = z
  .string()
  .regex(/^[A-Za-z0-9.%_:/-]{1,255}$/, 'a host pattern: letters, digits and . % _ : / -')
  .default('%');

/** Privileges a grant may carry on a database (`db.*`); the second list on one table (`db.table`). */
const DATABASE_PRIVILEGES = [
  'ALL PRIVILEGES',
  'ALTER',
  'ALTER ROUTINE',
  'CREATE',
  'CREATE ROUTINE',
  'CREATE TEMPORARY TABLES',
  'CREATE VIEW',
  'DELETE',
  'DELETE HISTORY',
  'DROP',
  'EVENT',
  'EXECUTE',
  'INDEX',
  'INSERT',
  'LOCK TABLES',
  'REFERENCES',
  'SELECT',
  'SHOW VIEW',
  'TRIGGER',
  'UPDATE',
];
const TABLE_PRIVILEGES = ['ALL PRIVILEGES', 'ALTER', 'CREATE', 'CREATE VIEW', 'DELETE', 'DELETE HISTORY', 'DROP', 'INDEX', 'INSERT', 'REFERENCES', 'SELECT', 'SHOW VIEW', 'TRIGGER', 'UPDATE'];
/**
 * Databases no grant may name. Threat: `mysql` holds every account's password hash and the
 * privilege tables; the marks database is where revoke learns what it may drop.
 */
const RESERVED_DATABASES = ['mysql', 'information_schema', 'performance_schema', 'sys'];

interface ParsedGrant {
  privileges: string[];
  database: string;
  /** null: every table of the database (`db.*`). */
  table: string | null;
}

/**
 * One grant from the settings, e.g. `SELECT, INSERT ON shop.*` or `SELECT ON shop.orders`. Only
 * what is parsed here is written into the GRANT statement, never the text itself.
 */
function parseGrant(text: string): ParsedGrant | string {
  const match = /^\s*(.+?)\s+ON\s+(\S+)\s*$/i.exec(text);
  if (!match) return 'expected "PRIVILEGE[, PRIVILEGE...] ON database.* | database.table"';
  const privileges = match[1]!.split(',').map((p) => p.trim().replace(/\s+/g, ' ').toUpperCase());
  const object = /^(`[^`]*`|[^.`]+)\.(`[^`]*`|[^.`]+)$/.exec(match[2]!);
  if (!object) return `"${match[2]}" is not database.* or database.table`;
  const database = unquote(object[1]!);
  const table = object[2] === '*' ? null : unquote(object[2]!);
  if (database === '*') return 'global privileges (*.*) are not handed out; name a database';
  if (!NAME.test(database) || (table !== null && !NAME.test(table))) return 'database and table names: letters, digits, _ $ and -, at most 64 characters';
  if (RESERVED_DATABASES.includes(database.toLowerCase())) return `the ${database} database is not handed out`;
  const allowed = table === null ? DATABASE_PRIVILEGES : TABLE_PRIVILEGES;
  for (const privilege of privileges) {
    const name = privilege === 'ALL' ? 'ALL PRIVILEGES' : privilege;
    if (!allowed.includes(name)) return `${privilege || '(empty)'} is not a privilege on ${table === null ? 'a database' : 'a table'} (known: ${allowed.join(', ')})`;
  }
  return { privileges: [...new Set(privileges.map((p) => (p === 'ALL' ? 'ALL PRIVILEGES' : p)))], database, table };
}

const GrantText = z.string().transform((text, ctx) => {
  const parsed = parseGrant(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const MariaDbSettings = z.strictObject({
  /** mysql:// (or mariadb://) URL of the admin account; a secret, so only a reference. */
  adminUrl: SecretRef,
  /** What the grantee may do, e.g. `SELECT ON shop.*`; at least one. */
  grants: z.array(GrantText).min(1, 'name at least one grant, e.g. "SELECT ON shop.*"'),
  /** The database a grantee's client opens (connect line, DATABASE_URL); none by default. */
  database: z.string().regex(NAME, 'letters, digits, _ $ and -, at most 64 characters').optional(),
  userNameTemplate: z.string().min(1).default('stint_{user}_{grant}'),
  /** The host part of every grant's account (`'user'@'host'`). */
  accountHost: AccountHost,
  /** Where the provider keeps its ownership marks (one table, made on first use). */
  marksDatabase: z.string().regex(NAME, 'letters, digits, _ $ and -, at most 64 characters').default('stint'),
  connectHost: z.string().min(1).optional(),
  connectPort: z.number().int().min(1).max(65_535).optional(),
  /** Caps what one grant can hold open on the server (MAX_USER_CONNECTIONS). */
  connectionLimit: z.number().int().min(1).max(1000).default(10),
});
type MariaDbSettings = z.output<typeof MariaDbSettings>;

function checkSettings(settings: MariaDbSettings, systemId: string): string | null {
  const template = settings.userNameTemplate;
  const unknown = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((p) => !PLACEHOLDERS.includes(p as (typeof PLACEHOLDERS)[number]));
  if (unknown.length > 0) return `userNameTemplate: unknown placeholder {${unknown[0]}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`;
  // Threat: two grants sharing one account, so revoking one (or its expiry) ends the other.
  if (!template.includes('{grant}')) return 'userNameTemplate: must contain {grant}, so every grant gets its own account';
  if (!USER_TEXT.test(template.replace(/\{(user|grant|system)\}/g, 'x'))) return 'userNameTemplate: letters, digits and _ . $ - only';
  const longest = renderUserName(template, { user: 'u'.repeat(MAX_PLACEHOLDER_CHARS), grantId: 'ffffffff-ffff-7fff-bfff-ffffffffffff', system: systemId });
  if (longest.length > MAX_USER_NAME_CHARS) return `userNameTemplate: names can reach ${longest.length} characters; MariaDB keeps ${MAX_USER_NAME_CHARS}`;
  const marks = settings.marksDatabase.toLowerCase();
  if (RESERVED_DATABASES.includes(marks)) return `marksDatabase: the ${settings.marksDatabase} database is the server's own`;
  // Threat: a grantee who may write the marks could make revoke drop any account it names.
  const named = settings.grants.findIndex((g) => g.database.toLowerCase() === marks);
  if (named >= 0) return `grants.${named}: the marks database (${settings.marksDatabase}) is not handed out`;
  return null;
}

interface Target {
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  /** Where the grantee connects. */
  connectHost: string;
  connectPort: string;
}

/** Never quotes the URL in an error: it holds the admin password. */
function resolveTarget(settings: MariaDbSettings, adminUrl: string): Target {
  let url: URL;
  try {
    url = new URL(adminUrl);
  } catch {
    throw new Error('adminUrl: the secret is not a URL (expected mysql://user:password@host:port)');
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') throw new Error(`adminUrl: the secret's scheme is ${url.protocol.replace(/:$/, '')}, expected mysql or mariadb`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new Error('adminUrl: the secret names no host');
  if (!url.username) throw new Error('adminUrl: the secret names no user');
  const port = Number(url.port) || 3306;
  return {
    host,
    port,
    adminUser: decodeURIComponent(url.username),
    adminPassword: decodeURIComponent(url.password),
    connectHost: settings.connectHost ?? host,
    connectPort: String(settings.connectPort ?? port),
  };
}

/**
 * mysql_native_password's stored form, `*` and the hex of SHA1(SHA1(password)). Threat: a plain
 * `IDENTIFIED BY 'password'` travels in the statement text, which the general log, the slow
 * log, a proxy or SHOW PROCESSLIST can show; the stored form does not log anyone in.
 */
const nativeHash = (password: string) => `*${createHash('sha1').update(createHash('sha1').update(password).digest()).digest('hex').toUpperCase()}`;

interface Account {
  user: string;
  host: string;
  /** Revoke finished: the account was dropped. The mark stays, so a later revoke knows. */
  dropped: boolean;
}

/**
 * Adds which step failed. Only the message (and SQLSTATE) is kept, never the original error as
 * `cause`: mysql2 hangs the statement's text off its errors (threat: whatever a statement
 * carries ending up in logs).
 */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ProviderRefusal) throw error;
    const { message, sqlState } = (error ?? {}) as { message?: unknown; sqlState?: unknown };
    const state = typeof sqlState === 'string' && /^[0-9A-Z]{5}$/.test(sqlState) ? sqlState : null;
    const text = `mariadb provider: ${what}: ${typeof message === 'string' ? message : String(error)}${state ? ` (SQLSTATE ${state})` : ''}`;
    // Class 42 (no such table, a privilege the admin lacks or cannot grant) and 28 (the admin
    // cannot log in) are the server's own "no": a retry cannot get past them. Anything else
    // (refused or lost connections, a server shutting down, a lock wait) may pass, and is retried.
    throw state && /^(42|28)/.test(state) ? new ProviderRefusal(text) : new Error(text);
  }
}

const errnoOf = (error: unknown) => (error as { errno?: unknown } | null)?.errno;
/** ER_CANNOT_USER: CREATE USER of a name that exists, ALTER/DROP of one that does not. */
const ER_CANNOT_USER = 1396;
/** ER_DUP_ENTRY: a unique key (here: a mark's account) taken. */
const ER_DUP_ENTRY = 1062;
/** ER_NO_SUCH_THREAD: the connection ended before KILL reached it. */
const ER_NO_SUCH_THREAD = 1094;

const CONNECT_TIMEOUT_MS = 5000;
const STATEMENT_TIMEOUT_MS = 10_000;
const LOCK_WAIT_SECONDS = 10;
const SESSION_EXIT_WAIT_MS = 5000;

/**
 * MariaDB accounts. Each grant gets its own account with a random password and the configured
 * privileges; revoke locks it, ends its connections and drops it. MariaDB accounts have no
 * deadline of their own, so the server's revoke is what ends a grant, and the account carries
 * no comment, so the ownership mark is a row in a table of the provider's
 * (docs/mariadb-provider.md says what follows from both).
 *
 * The admin needs CREATE USER, PROCESS and CONNECTION ADMIN on *.*, every privilege it hands out
 * WITH GRANT OPTION, and SELECT, INSERT, UPDATE, DELETE, CREATE on the marks database.
 * Tested on MariaDB 10.11.
 */
export const mariadbProvider: ProviderFactory = (system: SystemConfig) => {
  const parsed = MariaDbSettings.safeParse(system.provider.settings);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; '));
  const settings = parsed.data;
  const problem = checkSettings(settings, system.id);
  if (problem) throw new Error(problem);
  // Read at boot (and on reload) so a missing secret refuses to start, not fails a grant later.
  const target = resolveTarget(settings, readSecret(settings.adminUrl, 'adminUrl'));
  const marks = `\`${settings.marksDatabase}\`.\`grant_accounts\``;

  // One connection per issue or revoke: grants are rare, and a fresh connection has no state
  // left over from a restart. close() ends whatever is still open.
  const open = new Set<Connection>();

  async function withConnection<T>(what: string, run: (conn: Connection) => Promise<T>): Promise<T> {
    const conn = await step(`${what}: connecting as admin`, () =>
      createConnection({
        host: target.host,
        port: target.port,
        user: target.adminUser,
        password: target.adminPassword,
        connectTimeout: CONNECT_TIMEOUT_MS,
        multipleStatements: false,
      }),
    );
    // A connection lost between statements emits 'error'; unhandled, it would crash the server.
    // The statement in flight fails on its own and the caller reports it.
    conn.on('error', () => undefined);
    open.add(conn);
    try {
      return await run(conn);
    } finally {
      open.delete(conn);
      conn.destroy();
    }
  }

  /** A statement with a client-side timeout: a server that stalls must not hold an attempt (and its lease). */
  async function run(conn: Connection, sql: string, values: (string | number)[] = []): Promise<RowDataPacket[]> {
    // execute() binds values on the server (a prepared statement), so they are never escaped
    // into the text; statements without values (DDL, which cannot be prepared with names as
    // parameters) go as they are, made only of names checked above.
    const [rows] = values.length > 0 ? await conn.execute<RowDataPacket[]>({ sql, timeout: STATEMENT_TIMEOUT_MS }, values) : await conn.query<RowDataPacket[]>({ sql, timeout: STATEMENT_TIMEOUT_MS });
    return rows;
  }

  let marksReady = false;
  async function ensureMarks(conn: Connection): Promise<void> {
    if (marksReady) return;
    await step('create marks database', () => run(conn, `CREATE DATABASE IF NOT EXISTS \`${settings.marksDatabase}\``));
    await step('create marks table', () =>
      run(
        conn,
        `CREATE TABLE IF NOT EXISTS ${marks} (
           grant_id VARCHAR(36) NOT NULL PRIMARY KEY,
           user VARCHAR(128) NOT NULL,
           host VARCHAR(255) NOT NULL,
           created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
           dropped_at TIMESTAMP(3) NULL,
           UNIQUE KEY account (user, host)
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      ),
    );
    marksReady = true;
  }

  /**
   * Two attempts for one grant (a lease that lapsed under a slow server) queue here instead of
   * both creating the account. Released with the connection.
   */
  async function lockGrant(conn: Connection, grantId: string): Promise<void> {
    const rows = await step('lock grant', () => run(conn, 'SELECT GET_LOCK(?, ?) AS got', [`stint grant ${grantId}`, LOCK_WAIT_SECONDS]));
    if (rows[0]?.got !== 1) throw new Error(`mariadb provider: lock grant: another attempt for grant ${grantId} held it for ${LOCK_WAIT_SECONDS} s`);
  }

  async function markOf(conn: Connection, grantId: string): Promise<Account | null> {
    const rows = await step('find mark', () => run(conn, `SELECT user, host, dropped_at FROM ${marks} WHERE grant_id = ?`, [grantId]));
    const row = rows[0];
    return row ? { user: String(row.user), host: String(row.host), dropped: row.dropped_at !== null } : null;
  }

  /** The account recorded for a grant, or the one its mark names (an issue whose reply was lost). */
  async function findAccount(conn: Connection, grantId: string, state: Record<string, unknown>): Promise<Account | null> {
    const mark = await markOf(conn, grantId);
    const recorded = typeof state.user === 'string' && state.user.length > 0 ? { user: state.user, host: typeof state.host === 'string' ? state.host : null } : null;
    // Threat: a provider_state edited in the store naming an account Stint did not make (the
    // admin, an application's account), which revoke would then drop. Only the mark says what
    // is Stint's.
    if (recorded && (!mark || mark.user !== recorded.user || (recorded.host !== null && mark.host !== recorded.host))) {
      throw new Error(`refusing to touch account ${JSON.stringify(recorded.user)}: it was not created by Stint for grant ${grantId}`);
    }
    return mark;
  }

  const account = (a: Pick<Account, 'user' | 'host'>) => `'${a.user}'@'${a.host}'`;

  /** Locks the account, ends every connection it has, drops it and notes that on its mark. */
  async function dropAccount(conn: Connection, grantId: string, found: Account): Promise<void> {
    const name = account(found);
    if (!found.dropped) {
      let exists = true;
      // First: no new connection can log in, so none appears between the kill and the drop.
      await step('lock account', async () => {
        try {
          await run(conn, `ALTER USER ${name} ACCOUNT LOCK`);
        } catch (error) {
          // Already gone (an attempt that dropped it and stopped before noting it).
          if (errnoOf(error) === ER_CANNOT_USER) exists = false;
          else throw error;
        }
      });
      if (exists) {
        await step('end connections', async () => {
          const deadline = Date.now() + SESSION_EXIT_WAIT_MS;
          // A killed thread usually ends within milliseconds: look again soon, then less often.
          let pauseMs = 2;
          for (;;) {
            const live = await run(conn, 'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [found.user]);
            if (live.length === 0) return;
            for (const { id } of live) {
              try {
                await run(conn, `KILL CONNECTION ${Number(id)}`);
              } catch (error) {
                if (errnoOf(error) !== ER_NO_SUCH_THREAD) throw error;
              }
            }
            // KILL marks the thread; it is gone once it notices. Wait until it has.
            if (Date.now() > deadline) throw new Error(`${live.length} connection(s) of ${found.user} did not end within ${SESSION_EXIT_WAIT_MS} ms`);
            await new Promise((resolve) => setTimeout(resolve, pauseMs));
            pauseMs = Math.min(50, pauseMs * 2);
          }
        });
        await step('drop account', () => run(conn, `DROP USER IF EXISTS ${name}`));
      }
    }
    await step('note the drop', () => run(conn, `UPDATE ${marks} SET dropped_at = CURRENT_TIMESTAMP(3) WHERE grant_id = ? AND dropped_at IS NULL`, [grantId]));
  }

  function credential(user: string, host: string, password: string, expiresAt: number): IssuedCredential {
    const connectHost = target.connectHost;
    const hostPart = connectHost.includes(':') ? `[${connectHost}]` : connectHost;
    const database = settings.database ?? '';
    return {
      fields: {
        host: connectHost,
        port: target.connectPort,
        user,
        password,
        ...(settings.database ? { database: settings.database } : {}),
        expiresAt: new Date(expiresAt).toISOString(),
      },
      env: {
        DATABASE_URL: `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${hostPart}:${target.connectPort}/${encodeURIComponent(database)}`,
        // The mysql and mariadb clients read the password from here, so it never needs -p on
        // the command line (visible in ps).
        MYSQL_PWD: password,
        STINT_MARIADB_HOST: connectHost,
        STINT_MARIADB_PORT: target.connectPort,
        STINT_MARIADB_USER: user,
        ...(settings.database ? { STINT_MARIADB_DATABASE: settings.database } : {}),
      },
      // Only names: state is stored in clear.
      state: { user, host },
    };
  }

  const grantStatements = (to: string) =>
    settings.grants.map((g) => {
      // In a database-level GRANT, _ and % in the database name are wildcards: `shop_1.*` would
      // also grant `shopx1`. Escaped, the name means itself (table-level names are literal).
      const database = g.table === null ? g.database.replace(/[_%]/g, '\\$&') : g.database;
      return `GRANT ${g.privileges.join(', ')} ON \`${database}\`.${g.table === null ? '*' : `\`${g.table}\``} TO ${to}`;
    });

  const provider: Provider = {
    type: 'mariadb',
    needsPublicKey: false,

    async close() {
      for (const conn of open) conn.destroy();
      open.clear();
    },

    async probe() {
      await withConnection('probe', async (conn) => {
        // The admin's own global privileges (every account may read its own rows here).
        const held = new Set((await step('read privileges', () => run(conn, 'SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES'))).map((r) => String(r.p)));
        const missing = [
          held.has('CREATE USER') ? null : 'CREATE USER (to make and drop accounts)',
          held.has('PROCESS') ? null : "PROCESS (to see the grantee's connections)",
          held.has('CONNECTION ADMIN') || held.has('SUPER') ? null : "CONNECTION ADMIN (to end the grantee's connections)",
        ].filter((m) => m !== null);
        if (missing.length > 0) throw new ProviderRefusal(`mariadb provider: probe: the admin lacks ${missing.join(', ')} ON *.*`);
        await ensureMarks(conn);
        await step('read marks', () => run(conn, `SELECT COUNT(*) AS n FROM ${marks} WHERE grant_id = ?`, ['-']));
      });
    },

    async issue(input: IssueInput) {
      const name = renderUserName(settings.userNameTemplate, { user: input.user.login, grantId: input.grantId, system: input.system.id });
      // 32 random bytes: nothing to guess, and base64url needs no quoting in a URL or a shell.
      const password = randomBytes(32).toString('base64url');
      const identified = `IDENTIFIED WITH mysql_native_password AS '${nativeHash(password)}'`;
      // Explicit, so the server's defaults (default_password_lifetime, a lock) do not apply.
      const options = `WITH MAX_USER_CONNECTIONS ${settings.connectionLimit} PASSWORD EXPIRE NEVER ACCOUNT UNLOCK`;
      const issued = await withConnection('issue', async (conn) => {
        await ensureMarks(conn);
        await lockGrant(conn, input.grantId);
        // Idempotent per grant: an earlier attempt whose answer was lost left its mark (and
        // perhaps the account). It is taken up again under the marked name, even if the
        // template changed since, with a new password (the lost one was never recorded) and
        // its privileges set afresh.
        const earlier = await markOf(conn, input.grantId);
        if (earlier?.dropped) throw new ProviderRefusal(`mariadb provider: issue: the account of grant ${input.grantId} was already revoked`);
        const chosen = earlier ?? { user: name, host: settings.accountHost };
        const to = account(chosen);
        if (earlier) {
          await step('create account', () => run(conn, `CREATE USER IF NOT EXISTS ${to} ${identified}`));
          await step('reset account', () => run(conn, `ALTER USER ${to} ${identified} ${options}`));
          await step('reset privileges', () => run(conn, `REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${to}`));
        } else {
          // The mark comes first: an attempt that stops after it leaves something revoke can
          // find; an account made first would be invisible to it.
          await step('mark account', async () => {
            try {
              await run(conn, `INSERT INTO ${marks} (grant_id, user, host) VALUES (?, ?, ?)`, [input.grantId, chosen.user, chosen.host]);
            } catch (error) {
              // The name is another grant's (a template without enough of {grant} cannot get
              // here, so only marks edited by hand): no retry makes it free.
              if (errnoOf(error) === ER_DUP_ENTRY) throw new ProviderRefusal(`mariadb provider: issue: the account ${to} is marked as another grant's`);
              throw error;
            }
          });
          // CREATE USER fails if the name exists: an account is never taken over.
          await step('create account', async () => {
            try {
              await run(conn, `CREATE USER ${to} ${identified} ${options}`);
            } catch (error) {
              if (errnoOf(error) !== ER_CANNOT_USER) throw error;
              await run(conn, `DELETE FROM ${marks} WHERE grant_id = ?`, [input.grantId]);
              throw new ProviderRefusal(`mariadb provider: issue: an account named ${to} exists and was not created by Stint for this grant`);
            }
          });
        }
        try {
          for (const statement of grantStatements(to)) await step('grant privileges', () => run(conn, statement));
        } catch (error) {
          // A grant the server refuses (a table that does not exist, a privilege the admin
          // cannot hand out) fails the grant: take the account away now rather than leave it
          // with half its privileges until the revoke that follows.
          // Should that fail too, the revoke that follows a failed grant finds the mark and retries.
          if (error instanceof ProviderRefusal) await dropAccount(conn, input.grantId, { ...chosen, dropped: false }).catch(() => undefined);
          throw error;
        }
        return chosen;
      });
      return credential(issued.user, issued.host, password, input.expiresAt);
    },

    async revoke(input) {
      await withConnection('revoke', async (conn) => {
        await ensureMarks(conn);
        await lockGrant(conn, input.grantId);
        const found = await findAccount(conn, input.grantId, input.state);
        // Never made, or already dropped: revoke is idempotent.
        if (found) await dropAccount(conn, input.grantId, found);
      });
    },
  };
  return provider;
};
