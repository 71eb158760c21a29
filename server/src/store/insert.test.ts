import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from './database';
import { insertRows } from './insert';

describe('insertRows on SQLite', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(join(mkdtempSync(join(tmpdir(), 'stint-insert-')), 'insert.sqlite'));
  });
  afterAll(async () => store.close());

  const event = (type: string) => ({ at: 1, type, audience: '{}', payload: `{"type":"${type}"}` });

  it('stores every row as given and reports the last id', async () => {
    const first = await insertRows(store, store.db, 'events', [event('a'), event('b')]);
    const second = await insertRows(store, store.db, 'events', [event('c')]);
    expect(first.insertId).toBe(2n);
    expect(second.insertId).toBe(3n);
    const rows = await store.db.selectFrom('events').select(['id', 'type', 'payload']).orderBy('id').execute();
    expect(rows).toEqual([
      { id: 1, type: 'a', payload: '{"type":"a"}' },
      { id: 2, type: 'b', payload: '{"type":"b"}' },
      { id: 3, type: 'c', payload: '{"type":"c"}' },
    ]);
  });

  it('refuses rows whose columns differ, and stores none of them', async () => {
    const before = await store.db.selectFrom('events').select('id').execute();
    const { payload: _payload, ...short } = event('e');
    await expect(insertRows(store, store.db, 'events', [event('d'), short as ReturnType<typeof event>])).rejects.toThrow('rows differ in their columns');
    const renamed = { at: 1, type: 'f', audience: '{}', body: '{}' } as unknown as ReturnType<typeof event>;
    await expect(insertRows(store, store.db, 'events', [event('d'), renamed])).rejects.toThrow('rows differ in their columns');
    expect(await store.db.selectFrom('events').select('id').execute()).toEqual(before);
  });
});
