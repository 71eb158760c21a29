import SQLite from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { accessRequest } from '../../../test-support/fixtures';
import { testDatabase } from '../../test/harness';
import { appendEvents, appendLogs, PG_EVENT_CHANNEL } from '../events/log';
import { openStore, type Store } from '../store/database';
import { appendAudit, GENESIS_HASH, hashAuditRow, verifyAudit, type AuditRecord } from './chain';

const record = (action: string): AuditRecord => ({ actor: 'alice', action, targetType: 'request', targetId: 'r1' });

describe('the audit chain on SQLite, with the head remembered between appends', () => {
  let store: Store;
  let path: string;
  const append = (...actions: string[]) => store.db.transaction().execute((trx) => appendAudit(store, trx, Date.now(), actions.map(record)));
  const actions = async () => (await store.db.selectFrom('audit').select('action').orderBy('seq').execute()).map((r) => r.action);

  beforeEach(async () => {
    path = join(mkdtempSync(join(tmpdir(), 'stint-chain-')), 'audit.sqlite');
    store = await openStore(path);
  });
  afterEach(async () => store.close());

  it('chains after a transaction that appended and then rolled back', async () => {
    await append('first');
    const refused = store.db.transaction().execute(async (trx) => {
      await appendAudit(store, trx, Date.now(), [record('rolled back')]);
      throw new Error('refused after auditing');
    });
    await expect(refused).rejects.toThrow('refused after auditing');
    await append('second', 'third');
    expect(await actions()).toEqual(['first', 'second', 'third']);
    expect(await verifyAudit(store.db)).toEqual({ ok: true, rows: 3 });
  });

  it('chains after rows another process appended to the same file', async () => {
    await append('by the server');
    const other = new SQLite(path);
    const head = other.prepare('select seq, hash from audit order by seq desc limit 1').get() as { seq: number; hash: string };
    const row = { seq: head.seq + 1, at: Date.now(), actor: 'ops', action: 'by another process', target_type: 'request', target_id: 'r2', detail: '{}', prev_hash: head.hash };
    other.prepare('insert into audit (seq, at, actor, action, target_type, target_id, detail, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      ...Object.values(row),
      hashAuditRow(row),
    );
    other.close();
    await append('by the server again');
    expect(await actions()).toEqual(['by the server', 'by another process', 'by the server again']);
    expect(await verifyAudit(store.db)).toEqual({ ok: true, rows: 3 });
  });

  it('chains after an append undone by rolling back to a savepoint', async () => {
    await append('first');
    const trx = await store.db.startTransaction().execute();
    const inner = await trx.savepoint('before_audit').execute();
    await appendAudit(store, inner, Date.now(), [record('undone')]);
    await inner.rollbackToSavepoint('before_audit').execute();
    await trx.commit().execute();
    await append('second');
    expect(await actions()).toEqual(['first', 'second']);
    expect(await verifyAudit(store.db)).toEqual({ ok: true, rows: 2 });
  });

  it('starts from the genesis hash on an empty chain', async () => {
    await append('only');
    const row = await store.db.selectFrom('audit').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ seq: 1, prev_hash: GENESIS_HASH });
  });
});

describe('the audit chain on PostgreSQL, appended by concurrent transactions', () => {
  const reviewRequested = { audience: { subs: [], groups: ['sre-leads'], notSubs: [] }, event: { type: 'review.requested' as const, request: accessRequest() } };
  let store: Store;
  let drop: () => Promise<void>;
  let location: string;
  const actions = async () => (await store.db.selectFrom('audit').select('action').orderBy('seq').execute()).map((r) => r.action);

  beforeEach(async () => {
    ({ location, drop } = await testDatabase('postgres'));
    store = await openStore(location);
  });
  afterEach(async () => {
    await store.close();
    await drop();
  });

  it('a transaction that waited for the append lock chains to what committed meanwhile (the head is read after the lock)', async () => {
    const first = await store.db.startTransaction().execute();
    await appendAudit(store, first, Date.now(), [record('first')]);
    // The second waits for the lock while the first is still open.
    let secondDone = false;
    const second = store.db.transaction().execute(async (trx) => {
      await appendAudit(store, trx, Date.now(), [record('second')]);
      secondDone = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(secondDone).toBe(false);
    await first.commit().execute();
    await second;
    expect(await actions()).toEqual(['first', 'second']);
    expect(await verifyAudit(store.db)).toEqual({ ok: true, rows: 2 });
  });

  it('many transactions at once, each auditing and logging events, keep one chain', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.db.transaction().execute(async (trx) => {
          // Half append audit and events in turn, half in one statement (appendLogs).
          if (i % 2 === 0) {
            await appendAudit(store, trx, Date.now(), [record(`a${i}`), record(`b${i}`)]);
            await appendEvents(store, trx, Date.now(), [reviewRequested]);
          } else {
            await appendLogs(store, trx, Date.now(), [record(`a${i}`), record(`b${i}`)], [reviewRequested, reviewRequested]);
          }
        }),
      ),
    );
    expect(await verifyAudit(store.db)).toEqual({ ok: true, rows: 40 });
    expect(Number((await store.db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(30);
  });

  it('refuses to take the append lock outside a transaction (it would be released at once)', async () => {
    await expect(appendAudit(store, store.db, Date.now(), [record('loose')])).rejects.toThrow('inside a transaction');
    expect(await actions()).toEqual([]);
  });

  it('every replica hears of committed events with the last id in the NOTIFY, and of rolled-back ones never', async () => {
    const listener = new pg.Client({ connectionString: location });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query(`LISTEN ${PG_EVENT_CHANNEL}`);
    try {
      const logged = await store.db.transaction().execute((trx) => appendEvents(store, trx, Date.now(), [reviewRequested, reviewRequested, reviewRequested]));
      const withAudit = await store.db.transaction().execute((trx) => appendLogs(store, trx, Date.now(), [record('reviewed')], [reviewRequested, reviewRequested]));
      expect(withAudit.map((e) => Number(e.envelope.id))).toEqual([4, 5]);
      await expect(store.db.transaction().execute(async (trx) => {
        await appendEvents(store, trx, Date.now(), [reviewRequested]);
        throw new Error('rolled back');
      })).rejects.toThrow('rolled back');
      await new Promise((r) => setTimeout(r, 300));
      expect(heard).toEqual([logged.at(-1)!.envelope.id, withAudit.at(-1)!.envelope.id]);
      expect(await verifyAudit(store.db)).toEqual({ ok: true, rows: 1 });
    } finally {
      await listener.end();
    }
  });
});
