import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type SelectQueryBuilder } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations';
import type { Database as Schema } from './schema';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Schema>;
  dialect: Dialect;
  /** Where the data lives, for logs (no password). */
  description: string;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Opens SQLite (a file path) or PostgreSQL (a postgres:// URL) and brings the schema up to date. */
/** Where a connection that fails outside any query is reported (a failover, a restart). */
export interface StoreLog {
  warn(fields: object, message: string): void;
}

export async function openStore(location: string, log?: StoreLog): Promise<Store> {
  const store = location.startsWith('postgres://') || location.startsWith('postgresql://')
    ? openPostgres(location, log)
    : openSqlite(location);
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    await store.close();
    throw new Error(`Database migration ${failed} failed on ${store.description}: ${String(error)}`);
  }
  return store;
}

function openSqlite(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  return { db, dialect: 'sqlite', description: `sqlite:${path}`, close: () => db.destroy() };
}

/**
 * Kysely's SQLite driver prepares every statement anew; compiling SQL is a large share of a
 * request's time. The same few hundred statements repeat, so keep them prepared.
 */
function withStatementCache(database: SQLite.Database, limit = 500) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
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
  return { db, dialect: 'postgres', description: `postgres:${safe.host}${safe.pathname}`, close: () => db.destroy() };
}

/** Row lock for read-modify-write in a transaction; SQLite already serialises writers. */
export function forUpdate<DB, TB extends keyof DB, O>(
  store: Pick<Store, 'dialect'>,
  query: SelectQueryBuilder<DB, TB, O>,
): SelectQueryBuilder<DB, TB, O> {
  return store.dialect === 'postgres' ? query.forUpdate() : query;
}

/**
 * Serialises appends to the audit chain and the event log across replicas (PostgreSQL) so
 * that sequence numbers and event ids are handed out in commit order; released at commit.
 */
export async function lockAppendLog(store: Pick<Store, 'dialect'>, trx: Kysely<Schema>): Promise<void> {
  if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7411001)`.execute(trx);
}
