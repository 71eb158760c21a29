import { CompiledQuery, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';

/** The part of better-sqlite3 this driver uses (statements may come through a cache). */
export interface SqliteStatements {
  prepare(sql: string): {
    reader: boolean;
    readonly: boolean;
    all(...parameters: unknown[]): unknown[];
    run(...parameters: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  };
  close(): void;
}

const TRANSACTION_SAVEPOINT = 'stint_tx';

function savepointName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`savepoint name ${JSON.stringify(name)} is not a plain identifier`);
  if (name === TRANSACTION_SAVEPOINT) throw new Error(`savepoint name ${name} is the driver's own`);
  return name;
}

/** One holder of the connection: a transaction, or single queries. */
class ConnectionHolder implements DatabaseConnection {
  /** The savepoint of the transaction running on this holder, if one is. */
  savepoint: string | null = null;
  /** Set when the connection went back early (a committed transaction waits for its commit). */
  released = false;
  /** Set when its transaction committed or rolled back: nothing more may run on it. */
  finished = false;

  constructor(private readonly driver: GroupCommitDriver) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // A stray query on a transaction that is over would otherwise run on whoever holds the
    // connection now, inside their savepoint.
    if (this.released || this.finished) return Promise.reject(new Error('this transaction is already over; run the query in a new one'));
    try {
      return Promise.resolve(this.driver.runOn(this, query) as QueryResult<R>);
    } catch (error) {
      return Promise.reject(error);
    }
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
 * caller answers a client before its data is committed: in WAL mode with synchronous=NORMAL, as
 * Stint runs SQLite, a crash of the server loses only unacknowledged work (a power cut may lose
 * the last commits, grouped or not). A transaction that fails rolls back to its savepoint and
 * takes nobody else's work with it; if the COMMIT itself fails, every transaction in it is told.
 *
 * A query outside any transaction commits what is pending first, then runs by itself: it never
 * reads another caller's work before that is committed, and a write it makes is committed before
 * it returns, as without this driver.
 */
export class GroupCommitDriver implements Driver {
  private readonly queue: (() => void)[] = [];
  private held = false;
  private batch: Batch | null = null;
  private closed = false;
  private committed = 0;

  constructor(
    private readonly database: { inTransaction: boolean },
    private readonly statements: SqliteStatements,
    /** How many transactions may wait for one commit before it is made anyway. */
    private readonly maxBatch = 256,
  ) {}

  async init(): Promise<void> {}

  /**
   * How many times this connection has committed (a shared COMMIT, or a write outside any
   * transaction), counted once the commit is made: what another connection reads after this
   * moves can differ from what it read before.
   */
  get revision(): number {
    return this.committed;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.lock();
    return new ConnectionHolder(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const holder = connection as ConnectionHolder;
    if (!this.batch) {
      this.run('begin immediate');
      const batch: Batch = { waiting: [], flushQueued: false };
      this.batch = batch;
      // Queued now, so the write lock is let go even if this transaction never gets going.
      this.queueFlush(batch);
    }
    // One name serves: transactions take turns on the connection, never nest.
    holder.savepoint = TRANSACTION_SAVEPOINT;
    this.run(`savepoint ${holder.savepoint}`);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const holder = connection as ConnectionHolder;
    const batch = this.batch!;
    this.run(`release ${holder.savepoint}`);
    holder.savepoint = null;
    holder.finished = true;
    const durable = new Promise<void>((resolve, reject) => batch.waiting.push({ resolve, reject }));
    void durable.catch(() => undefined); // awaited below; this only keeps a throw before then from going unhandled
    if (batch.waiting.length >= this.maxBatch) this.commitBatch();
    else this.queueFlush(batch);
    this.giveBack(holder);
    await durable;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const holder = connection as ConnectionHolder;
    // Already given back: its commit failed, and that rolled the whole batch back.
    if (holder.released) return;
    holder.finished = true;
    const batch = this.batch;
    if (batch && this.database.inTransaction) {
      if (batch.waiting.length === 0) {
        this.run('rollback');
        this.batch = null;
      } else {
        this.run(`rollback to ${holder.savepoint}`);
        this.run(`release ${holder.savepoint}`);
      }
    } else if (batch) {
      // SQLite ended the whole transaction itself (an I/O error, a full disk): the work of
      // the transactions waiting in it is gone, so they must not report success.
      this.batch = null;
      for (const waiter of batch.waiting) waiter.reject(new Error('the database rolled back a shared transaction after an error; retry the request'));
    }
    holder.savepoint = null;
  }

  // Savepoints inside a transaction (Kysely's trx.savepoint()); names are Kysely's callers' own.
  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    this.runOn(connection as ConnectionHolder, CompiledQuery.raw(`savepoint ${savepointName(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    this.runOn(connection as ConnectionHolder, CompiledQuery.raw(`rollback to ${savepointName(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    this.runOn(connection as ConnectionHolder, CompiledQuery.raw(`release ${savepointName(name)}`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    this.giveBack(connection as ConnectionHolder);
  }

  async destroy(): Promise<void> {
    await this.lock();
    try {
      this.commitBatch();
    } finally {
      this.closed = true;
      this.statements.close();
      this.unlock();
    }
  }

  /** Runs a query for a holder; outside a transaction, after committing what is pending. */
  runOn(holder: ConnectionHolder, query: CompiledQuery): QueryResult<unknown> {
    if (this.closed) throw new Error('the database is closed');
    if (!holder.savepoint) this.commitBatch();
    const statement = this.statements.prepare(query.sql);
    // A write outside any transaction commits on its own.
    const autocommit = !holder.savepoint && !statement.readonly;
    try {
      if (statement.reader) return { rows: statement.all(...query.parameters) };
      const { changes, lastInsertRowid } = statement.run(...query.parameters);
      return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
    } finally {
      if (autocommit) this.committed++;
    }
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
          if (this.batch === batch && !this.closed) this.commitBatch();
        } catch {
          // commitBatch has told every waiter; nobody else is listening here.
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
      try {
        if (this.database.inTransaction) this.run('rollback');
      } finally {
        for (const waiter of batch.waiting) waiter.reject(error);
      }
      return;
    }
    this.committed++;
    for (const waiter of batch.waiting) waiter.resolve();
  }

  private giveBack(holder: ConnectionHolder): void {
    if (holder.released) return;
    holder.released = true;
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
