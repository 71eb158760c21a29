import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Driver, type SelectQueryBuilder } from 'kysely';
import pg from 'pg';
import { GroupCommitDriver } from './group-commit';
import { migrationProvider } from './migrations';
import type { Database as Schema } from './schema';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Schema>;
  dialect: Dialect;
  /** Where the data lives, for logs (no password). */
  description: string;
  /** SQLite in a file only; see {@link SnapshotReader}. */
  snapshot?: SnapshotReader;
  /**
   * For reads outside any transaction that must see only committed data: on a SQLite file the
   * snapshot reader's connection (so such reads neither wait for the writer nor cut its group
   * commit short), otherwise `db` itself.
   */
  reader: Kysely<Schema>;
  close(): Promise<void>;
}

/**
 * A second, read-only SQLite connection. It sees committed data only, never a transaction the
 * writer connection has open (Kysely holds that one across awaits), and its reads do not queue
 * behind writes. `revision()` moves after every commit this server makes (the writer's
 * `GroupCommitDriver.revision`), so a result read here stays exactly current until it moves.
 * A commit by another process on the file (Stint never does that: SQLite serves one server,
 * replicas need PostgreSQL) is seen through `PRAGMA data_version` within a second; asking SQLite
 * on every call would cost a read transaction (~7 us, a quarter of a cached listing's time).
 */
export interface SnapshotReader {
  /** The same connection for Kysely queries. */
  db: Kysely<Schema>;
  revision(): number;
  close(): void;
}

const INT8_OID = 20;
const FOREIGN_COMMIT_CHECK_MS = 1000;

/** Where a connection that fails outside any query is reported (a failover, a restart). */
export interface StoreLog {
  warn(fields: object, message: string): void;
}

/** Opens SQLite (a file path) or PostgreSQL (a postgres:// URL) and brings the schema up to date. */
export async function openStore(location: string, log?: StoreLog): Promise<Store> {
  const isPostgres = location.startsWith('postgres://') || location.startsWith('postgresql://');
  let writerRevision = () => 0;
  const store = isPostgres ? openPostgres(location, log) : openSqlite(location, (driver) => (writerRevision = () => driver.revision));
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    await store.close();
    throw new Error(`Database migration ${failed} failed on ${store.description}: ${String(error)}`);
  }
  // Opened after the migrations, so the file and its tables exist; an in-memory database is
  // private to one connection and has no second one.
  if (isPostgres || location === ':memory:') return store;
  const snapshot = openSnapshotReader(location, writerRevision);
  return {
    ...store,
    snapshot,
    reader: snapshot.db,
    async close() {
      snapshot.close();
      await store.close();
    },
  };
}

function openSqlite(path: string, onDriver: (driver: GroupCommitDriver) => void = () => undefined): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const driver = new GroupCommitDriver(database, withStatementCache(database));
  onDriver(driver);
  const db = new Kysely<Schema>({ dialect: new GroupCommitSqliteDialect(database, driver) });
  return { db, reader: db, dialect: 'sqlite', description: `sqlite:${path}`, close: () => db.destroy() };
}

/** Kysely's SQLite dialect with its driver swapped for {@link GroupCommitDriver}. */
class GroupCommitSqliteDialect extends SqliteDialect {
  constructor(
    database: SQLite.Database,
    private readonly driver: GroupCommitDriver,
  ) {
    super({ database });
  }

  override createDriver(): Driver {
    return this.driver;
  }
}

function openSnapshotReader(path: string, writerRevision: () => number, now = Date.now): SnapshotReader {
  const database = new SQLite(path, { readonly: true, fileMustExist: true });
  database.pragma('busy_timeout = 5000');
  const statements = withStatementCache(database);
  // Closed with the snapshot reader, not by Kysely.
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: { prepare: statements.prepare, close: () => undefined } }) });
  const dataVersion = database.prepare('PRAGMA data_version').pluck();
  let foreign = { seen: dataVersion.get() as number, bumps: 0, checkedAt: now() };
  return {
    db,
    revision() {
      if (now() - foreign.checkedAt >= FOREIGN_COMMIT_CHECK_MS) {
        const seen = dataVersion.get() as number;
        foreign = { seen, bumps: foreign.bumps + (seen === foreign.seen ? 0 : 1), checkedAt: now() };
      }
      return writerRevision() + foreign.bumps * 2 ** 32;
    },
    close: () => database.close(),
  };
}

type Statement = Pick<SQLite.Statement, 'reader' | 'readonly' | 'all' | 'run' | 'iterate'>;

/**
 * Kysely's SQLite driver prepares every statement anew; compiling SQL is a large share of a
 * request's time. The same few hundred statements repeat, so keep them prepared.
 */
function withStatementCache(database: SQLite.Database, limit = 500) {
  const cache = new Map<string, Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string): Statement {
      let statement = cache.get(sql);
      if (!statement) {
        if (cache.size >= limit) cache.clear();
        statement = database.prepare(sql);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

function openPostgres(url: string, log?: StoreLog): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // Epoch-millisecond bigints fit in a double; parse them as numbers, not strings.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser },
  });
  // pg-pool detaches its own error listener from a client before ending it, and resolves
  // end() before the socket closes; a server-side disconnect in that gap (a failover, or
  // DROP DATABASE ... WITH (FORCE)) would otherwise crash the process as an unhandled
  // 'error'. A client that fails while checked out still reports to its query; these are
  // only logged.
  const report = (error: Error) => log?.warn({ err: error.message }, 'a PostgreSQL connection failed outside a query; the pool replaces it');
  pool.on('connect', (client) => client.on('error', report));
  pool.on('error', () => undefined); // the same error, already reported by the client's listener
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  const safe = new URL(url);
  safe.password = '';
  return { db, reader: db, dialect: 'postgres', description: `postgres:${safe.host}${safe.pathname}`, close: () => db.destroy() };
}

/** Row lock for read-modify-write in a transaction; SQLite already serialises writers. */
export function forUpdate<DB, TB extends keyof DB, O>(
  store: Pick<Store, 'dialect'>,
  query: SelectQueryBuilder<DB, TB, O>,
): SelectQueryBuilder<DB, TB, O> {
  return store.dialect === 'postgres' ? query.forUpdate() : query;
}

/** The append lock's key; migration 0011's `stint_lock_audit_head` takes the same one. */
const APPEND_LOCK = 7411001;

/** PostgreSQL transactions that hold the append lock already (a Kysely transaction is one object for its life). */
const appendLocked = new WeakSet<object>();

/**
 * Serialises appends to the audit chain and the event log across replicas (PostgreSQL) so
 * that sequence numbers and event ids are handed out in commit order; released at commit.
 * Taken once per transaction: a second append in it costs no round trip. A savepoint is a
 * Kysely object of its own, so a lock taken after one and undone with it is taken again by
 * the outer transaction.
 */
export async function lockAppendLog(store: Pick<Store, 'dialect'>, trx: Kysely<Schema>): Promise<void> {
  if (store.dialect === 'postgres' && !appendLocked.has(trx)) await takeAppendLock(trx, () => sql`select pg_advisory_xact_lock(${APPEND_LOCK})`.execute(trx));
}

/**
 * The audit chain's head as this transaction may extend it: read under the append lock. On
 * PostgreSQL, when the lock is not held yet, one call takes it and reads the head after it
 * (migration 0011), one round trip instead of two.
 */
export async function appendHead(store: Pick<Store, 'dialect'>, trx: Kysely<Schema>): Promise<{ seq: number; hash: string } | undefined> {
  if (store.dialect === 'postgres' && !appendLocked.has(trx)) {
    const { rows } = await takeAppendLock(trx, () => sql<{ seq: number; hash: string }>`select seq, hash from stint_lock_audit_head()`.execute(trx));
    return rows[0];
  }
  return trx.selectFrom('audit').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
}

/** Runs a statement that takes the append lock (PostgreSQL), and remembers the transaction holds it. */
async function takeAppendLock<T>(trx: Kysely<Schema>, statement: () => Promise<T>): Promise<T> {
  if (!trx.isTransaction) throw new Error('the append lock is taken inside a transaction (it is released at commit)');
  const result = await statement();
  appendLocked.add(trx);
  return result;
}

/**
 * Serialises, across replicas (PostgreSQL), the transactions that check one person's access to
 * one system and then add to it, so two concurrent requests cannot both find nothing live and
 * both go on; released at commit. SQLite already serialises writers (and group commit runs
 * every transaction on the one connection, so the check sees what earlier ones wrote). The
 * two-key form keeps these apart from the single-key append-log lock; two pairs whose hashes
 * meet only wait for each other.
 */
export async function lockPersonSystem(store: Pick<Store, 'dialect'>, trx: Kysely<Schema>, sub: string, systemId: string): Promise<void> {
  if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7411002, hashtext(${JSON.stringify([sub, systemId])}))`.execute(trx);
}
