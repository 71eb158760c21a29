import type { StintEvent, StintEventEnvelope } from '@stint/contract';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/database';
import { EventHub } from './hub';
import { appendEvents, readEventsAfter, type LoggedEvent } from './log';

const grantExpiring = (secondsLeft: number) => ({ type: 'grant.expiring', secondsLeft }) as unknown as StintEvent;
const forAlice = { subs: ['alice'], groups: [], notSubs: [] };

describe('event hub on SQLite', () => {
  let store: Store;
  let hub: EventHub;
  let received: StintEventEnvelope[];
  const write = (...seconds: number[]) =>
    store.db.transaction().execute((trx) => appendEvents(store, trx, Date.now(), seconds.map((s) => ({ audience: forAlice, event: grantExpiring(s) }))));
  const settled = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };

  beforeEach(async () => {
    store = await openStore(join(mkdtempSync(join(tmpdir(), 'stint-hub-')), 'hub.sqlite'));
    hub = new EventHub(store, pino({ level: 'silent' }), { pollMs: 60_000 });
    await hub.start();
    received = [];
    hub.subscribe({ user: { sub: 'alice', groups: [] }, send: (envelope) => received.push(envelope) });
  });
  afterEach(async () => {
    await hub.close();
    await store.close();
  });

  it('hands events this process committed straight to subscribers, as the log has them', async () => {
    const logged = await write(60, 30);
    hub.kick(logged);
    // At once: not after a read of the log.
    expect(received.map((e) => (e.event as unknown as { secondsLeft: number }).secondsLeft)).toEqual([60, 30]);
    const fromLog = await readEventsAfter(store.db, 0, 10);
    expect(received).toEqual(fromLog.map((l) => l.envelope));
  });

  it('delivers in log order, each once, when commits are handed over out of order', async () => {
    const first = await write(1);
    const second = await write(2, 3);
    hub.kick(second); // a gap before it: read from the log instead
    hub.kick(first);
    await settled();
    hub.kick(second);
    await settled();
    expect(received.map((e) => Number(e.id))).toEqual([1, 2, 3]);
  });

  it('still reads the log for events it was not handed (another process, another replica)', async () => {
    await write(5);
    hub.kick();
    await settled();
    expect(received).toHaveLength(1);
    const handed: LoggedEvent[] = await write(4);
    hub.kick(handed);
    expect(received.map((e) => Number(e.id))).toEqual([1, 2]);
  });
});
