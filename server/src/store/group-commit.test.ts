import SQLite from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, SqliteDialect, type Generated } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommitDriver, type SqliteStatements } from './group-commit';

interface Tables {
  notes: { id: Generated<number>; body: string };
  parents: { id: number };
  children: { id: number; parent_id: number };
}

/** A store on a real SQLite file, its statements written down in order, and a second connection. */
function openNotes(maxBatch?: number) {
  const path = join(mkdtempSync(join(tmpdir(), 'stint-group-commit-')), 'notes.sqlite');
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.exec(`create table notes (id integer primary key, body text not null);
    create table parents (id integer primary key);
    create table children (id integer primary key, parent_id integer not null references parents(id) deferrable initially deferred);`);
  database.pragma('foreign_keys = ON');
  const trail: string[] = [];
  const statements: SqliteStatements = {
    prepare(text) {
      const statement = database.prepare(text);
      return {
        reader: statement.reader,
        readonly: statement.readonly,
        all: (...parameters) => (trail.push(text), statement.all(...parameters)),
        run: (...parameters) => (trail.push(text), statement.run(...parameters)),
      };
    },
    close: () => database.close(),
  };
  const dialect = new (class extends SqliteDialect {
    override createDriver() {
      return new GroupCommitDriver(database, statements, maxBatch);
    }
  })({ database });
  const db = new Kysely<Tables>({ dialect });
  const other = new SQLite(path, { readonly: true });
  const storedBodies = () => (other.prepare('select body from notes order by id').pluck().all() as string[]);
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= Promise.resolve(other.close()).then(() => db.destroy()));
  const count = (text: string) => trail.filter((s) => s === text).length;
  /** Waits for n transactions to finish, in microtasks only, so the turn (and its commit) is not over. */
  const released = async (n: number) => {
    while (count('release stint_tx') < n) await Promise.resolve();
  };
  return { db, path, trail, storedBodies, commits: () => count('commit'), released, close };
}

const insertNote = (db: Kysely<Tables>, body: string) => db.transaction().execute((trx) => trx.insertInto('notes').values({ body }).execute());

describe('group commit on SQLite', () => {
  let notes: ReturnType<typeof openNotes>;
  beforeEach(() => {
    notes = openNotes();
  });
  afterEach(async () => notes.close());

  it('commits transactions that run together once, and tells each caller only once its note is durable', async () => {
    const seenWhenTold: string[][] = [];
    const bodies = Array.from({ length: 10 }, (_, i) => `note ${i}`);
    await Promise.all(bodies.map((body) => insertNote(notes.db, body).then(() => seenWhenTold.push(notes.storedBodies()))));
    expect(notes.commits()).toBe(1);
    expect(notes.storedBodies()).toEqual(bodies);
    // Read through another connection at the moment each caller heard "done": all ten there.
    expect(seenWhenTold).toHaveLength(10);
    for (const seen of seenWhenTold) expect(seen).toEqual(bodies);
  });

  it('rolls back a failing transaction alone: the others in its commit keep their work', async () => {
    const before = insertNote(notes.db, 'before');
    await notes.released(1); // so the failing one runs second, inside the same batch
    const failing = notes.db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ body: 'half-done' }).execute();
      throw new Error('the request was refused');
    });
    const results = await Promise.allSettled([before, failing, insertNote(notes.db, 'after')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('the request was refused');
    expect(notes.storedBodies()).toEqual(['before', 'after']);
    expect(notes.commits()).toBe(1);
  });

  it('tells every transaction in a commit that fails, and stores none of them', async () => {
    // A deferred foreign key is checked only at COMMIT, so this one COMMIT fails for all.
    const orphan = notes.db.transaction().execute((trx) => trx.insertInto('children').values({ id: 1, parent_id: 99 }).execute());
    const results = await Promise.allSettled([insertNote(notes.db, 'innocent'), orphan]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY constraint failed/);
    expect(notes.storedBodies()).toEqual([]);
    // The connection is fine afterwards.
    await insertNote(notes.db, 'next');
    expect(notes.storedBodies()).toEqual(['next']);
  });

  it('runs a query outside a transaction only after what is pending is committed', async () => {
    const pending = insertNote(notes.db, 'pending');
    const read = await notes.db.selectFrom('notes').select('body').execute();
    expect(read.map((r) => r.body)).toEqual(['pending']);
    expect(notes.trail.indexOf('commit')).toBeLessThan(notes.trail.indexOf('select "body" from "notes"'));
    await pending;
    // A write outside a transaction is durable when it returns, as without group commit.
    await notes.db.insertInto('notes').values({ body: 'alone' }).execute();
    expect(notes.storedBodies()).toEqual(['pending', 'alone']);
  });

  it('keeps savepoints and commit/rollback working in a controlled transaction', async () => {
    const trx = await notes.db.startTransaction().execute();
    await trx.insertInto('notes').values({ body: 'kept' }).execute();
    const inner = await trx.savepoint('inner').execute();
    await inner.insertInto('notes').values({ body: 'undone' }).execute();
    await inner.rollbackToSavepoint('inner').execute();
    await trx.commit().execute();
    const dropped = await notes.db.startTransaction().execute();
    await dropped.insertInto('notes').values({ body: 'dropped' }).execute();
    await dropped.rollback().execute();
    expect(notes.storedBodies()).toEqual(['kept']);
  });

  it('refuses a query on a transaction that is over, even before its commit, so it cannot land in the next one', async () => {
    let kept: Kysely<Tables> | undefined;
    const first = notes.db.transaction().execute(async (trx) => {
      kept = trx;
      await trx.insertInto('notes').values({ body: 'inside' }).execute();
    });
    await notes.released(1); // done, its commit not made yet: Kysely still thinks it open
    const second = notes.db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ body: 'next' }).execute();
      await expect(kept!.insertInto('notes').values({ body: 'stray' }).execute()).rejects.toThrow(/already over/);
    });
    await Promise.all([first, second]);
    expect(notes.storedBodies()).toEqual(['inside', 'next']);
  });

  it('commits what is pending when the store closes', async () => {
    const pending = insertNote(notes.db, 'last words');
    await notes.released(1);
    expect(notes.commits()).toBe(0);
    await notes.close();
    await pending;
    const reopened = new SQLite(notes.path, { readonly: true });
    expect(reopened.prepare('select body from notes').pluck().all()).toEqual(['last words']);
    reopened.close();
  });
});

describe('group commit, bounded', () => {
  it('commits once a batch holds maxBatch transactions, without waiting for the turn to end', async () => {
    const notes = openNotes(3);
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => insertNote(notes.db, `note ${i}`)));
      expect(notes.commits()).toBe(4);
      expect(notes.storedBodies()).toHaveLength(10);
    } finally {
      await notes.close();
    }
  });
});
