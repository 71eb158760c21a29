import { CompiledQuery, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';

/** The part of better-sqlite3 this driver uses (statements may come through a cache). */
export interface SqliteStatements {
  prepare(sql: string): {
    reader: boolean;
    all(...parameters: unknown[]): unknown[];
    run(...parameters: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  };
  close(): void;
}

function savepointName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`savepoint name ${JSON.stringify(name)} is not a plain identifier`);
  return name;
}

/** One holder of the connection: a transaction, or single queries. */
class Lease implements DatabaseConnection {
  /** The savepoint of the transaction running on this lease, if one is. */
  savepoint: string | null = null;
  /** Set when the connection went back early (a committed transaction waits for its commit). */
  released = false;

  constructor(private readonly driver: GroupCommitDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return Promise.resolve(this.driver.runOn(this, query) as QueryResult<R>);
  }

  // eslint-disable-next-line require-yield -- the interface asks for a generator; nothing here streams
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Stint does not stream SQLite queries');
  }
}

interface Batch {
  /** Transactions that finished and wait for the commit that makes them durable. */
  waiting: { resolve(): void; reject(error: unknown): void }[];
  flushQueued: boolean;
}

/**
 * Kysely's SQLite driver with group commit. Committing is most of a small write's cost on
 * SQLite (the WAL frames of every page touched, and the locks around them), and a busy server
 * makes many small writes. Here a transaction runs inside one shared `BEGIN IMMEDIATE` as a
 * savepoint; when it succeeds its savepoint is released and the connection goes to the next
 * transaction at once, but its caller hears "committed" only after the shared COMMIT, which
 * runs once the transactions queued in this turn of the event loop have had their go. So no
 * caller answers a client before its data is durable (a crash loses only unacknowledged
 * work), and a transaction that fails rolls back to its savepoint and takes nobody else's work
 * with it. If the COMMIT itself fails, every transaction in it is told so.
 *
 * A query outside any transaction commits what is pending first, then runs by itself: it never
 * reads another caller's work before that is durable, and a write it makes is committed before
 * it returns, as without this driver.
 */
export class GroupCommitDriver implements Driver {
  private readonly queue: (() => void)[] = [];
  private held = false;
  private batch: Batch | null = null;
  private closed = false;
  private dataVersion: number | null = null;
  private changes = 0;

  constructor(
    private readonly database: { inTransaction: boolean },
    private readonly statements: SqliteStatements,
    /** How many transactions may wait for one commit before it is made anyway. */
    private readonly maxBatch = 256,
  ) {}

  async init(): Promise<void> {}

  /**
   * Moves whenever what this connection wrote might not be what the database holds: a
   * transaction rolled back, a shared commit failed, a write ran outside any transaction, or
   * another connection committed (seen through PRAGMA data_version when a shared transaction
   * begins; it holds the write lock until its commit, so nobody else writes in between). What a
   * caller remembers of its own writes (the audit chain's head) holds while this stays put.
   */
  get generation(): number {
    return this.changes;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.lock();
    return new Lease(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    if (!this.batch) {
      this.run('begin immediate');
      this.batch = { waiting: [], flushQueued: false };
      const dataVersion = this.statements.prepare('pragma data_version').all()[0] as { data_version: number };
      if (dataVersion.data_version !== this.dataVersion) this.changes++;
      this.dataVersion = dataVersion.data_version;
    }
    // One name serves: transactions take turns on the connection, never nest.
    lease.savepoint = 'stint_tx';
    this.run(`savepoint ${lease.savepoint}`);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    const batch = this.batch!;
    this.run(`release ${lease.savepoint}`);
    lease.savepoint = null;
    const durable = new Promise<void>((resolve, reject) => batch.waiting.push({ resolve, reject }));
    if (batch.waiting.length >= this.maxBatch) this.commitBatch();
    else this.queueFlush(batch);
    this.giveBack(lease);
    await durable;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    // Already given back: its commit failed, and that rolled the whole batch back.
    if (lease.released) return;
    this.changes++;
    const batch = this.batch;
    if (batch && this.database.inTransaction) {
      if (batch.waiting.length === 0) {
        this.run('rollback');
        this.batch = null;
      } else {
        this.run(`rollback to ${lease.savepoint}`);
        this.run(`release ${lease.savepoint}`);
      }
    } else if (batch) {
      // SQLite ended the whole transaction itself (an I/O error, a full disk): the work of
      // the transactions waiting in it is gone, so they must not report success.
      this.batch = null;
      for (const waiter of batch.waiting) waiter.reject(new Error('the database rolled back a shared transaction after an error; retry the request'));
    }
    lease.savepoint = null;
  }

  // Savepoints inside a transaction (Kysely's trx.savepoint()); names are Kysely's callers' own.
  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    this.runOn(connection as Lease, CompiledQuery.raw(`savepoint ${savepointName(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    this.runOn(connection as Lease, CompiledQuery.raw(`rollback to ${savepointName(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    this.runOn(connection as Lease, CompiledQuery.raw(`release ${savepointName(name)}`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    this.giveBack(connection as Lease);
  }

  async destroy(): Promise<void> {
    await this.lock();
    this.commitBatch();
    this.closed = true;
    this.statements.close();
    this.unlock();
  }

  /** Runs a query for a lease; outside a transaction, after committing what is pending. */
  runOn(lease: Lease, query: CompiledQuery): QueryResult<unknown> {
    if (this.closed) throw new Error('the database is closed');
    if (!lease.savepoint) this.commitBatch();
    const statement = this.statements.prepare(query.sql);
    if (statement.reader) return { rows: statement.all(...query.parameters) };
    if (!lease.savepoint) this.changes++;
    const { changes, lastInsertRowid } = statement.run(...query.parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  private run(sql: string): void {
    this.statements.prepare(sql).run();
  }

  private queueFlush(batch: Batch): void {
    if (batch.flushQueued) return;
    batch.flushQueued = true;
    // After this turn's I/O callbacks: the requests that arrived together commit together.
    setImmediate(() => {
      void this.lock().then(() => {
        try {
          if (this.batch === batch) this.commitBatch();
        } finally {
          this.unlock();
        }
      });
    });
  }

  /** The shared COMMIT; called only while holding the connection with no transaction open on it. */
  private commitBatch(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    try {
      this.run('commit');
    } catch (error) {
      this.changes++;
      if (this.database.inTransaction) this.run('rollback');
      for (const waiter of batch.waiting) waiter.reject(error);
      return;
    }
    for (const waiter of batch.waiting) waiter.resolve();
  }

  private giveBack(lease: Lease): void {
    if (lease.released) return;
    lease.released = true;
    this.unlock();
  }

  /** First come, first served: a flush queued behind transactions runs after them. */
  private lock(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  private unlock(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.held = false;
  }
}
