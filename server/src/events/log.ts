import type { StintEvent, StintEventEnvelope } from '@stint/contract';
import type { Kysely } from 'kysely';
import type { Principal } from '../auth/principal';
import { appendAudit, chainedRows, type AuditRecord } from '../audit/chain';
import { appendHead, lockAppendLog, type Store } from '../store/database';
import { insertRows, insertRowsThen } from '../store/insert';
import type { Database, EventRow } from '../store/schema';

/** Who an event is for: named people, members of groups, minus some (the requester of a review). */
export interface Audience {
  subs: string[];
  groups: string[];
  notSubs: string[];
}

/** Migration 0011's trigger NOTIFYs on it, with the inserting statement's last event id. */
export const PG_EVENT_CHANNEL = 'stint_events';

export function isFor(audience: Audience, user: Pick<Principal, 'sub' | 'groups'>): boolean {
  if (audience.notSubs.includes(user.sub)) return false;
  return audience.subs.includes(user.sub) || audience.groups.some((g) => user.groups.includes(g));
}

type NewEvent = { audience: Audience; event: StintEvent };

/**
 * Records events inside the caller's transaction, and returns them as logged (with their ids)
 * for the caller to hand to `ctx.eventsCommitted` once the transaction has committed. With
 * PostgreSQL every replica also hears of them at commit.
 */
export async function appendEvents(store: Pick<Store, 'dialect'>, trx: Kysely<Database>, at: number, events: readonly NewEvent[]): Promise<LoggedEvent[]> {
  if (events.length === 0) return [];
  await lockAppendLog(store, trx);
  // One statement's rows take ascending ids in the order given, contiguous under the append
  // lock. SQLite reports the last id (RETURNING would cost it twice the insert); PostgreSQL
  // returns them, in no promised order.
  const inserted = await insertRows(store, trx, 'events', eventRows(at, events), { returningId: true });
  return logged(store, at, events, inserted);
}

/**
 * What a transaction adds to both append-only logs: its audit records and its events. On
 * PostgreSQL, when there are both, the two inserts are one statement (the append lock is held
 * from the chain's head to the commit, and each round trip in between holds back every other
 * writer); otherwise one after the other.
 */
export async function appendLogs(
  store: Pick<Store, 'dialect'>,
  trx: Kysely<Database>,
  at: number,
  audit: readonly AuditRecord[],
  events: readonly NewEvent[],
): Promise<LoggedEvent[]> {
  if (store.dialect !== 'postgres' || audit.length === 0 || events.length === 0) {
    await appendAudit(store, trx, at, audit);
    return appendEvents(store, trx, at, events);
  }
  const rows = chainedRows(await appendHead(store, trx), at, audit);
  return logged(store, at, events, await insertRowsThen(trx, { table: 'audit', rows }, { table: 'events', rows: eventRows(at, events) }));
}

const eventRows = (at: number, events: readonly NewEvent[]) =>
  events.map(({ audience, event }) => ({ at, type: event.type, audience: JSON.stringify(audience), payload: JSON.stringify(event) }));

/** The events with the ids the insert gave them; none when they are not one run (the hub then reads them from the log). */
function logged(store: Pick<Store, 'dialect'>, at: number, events: readonly NewEvent[], inserted: { insertId?: bigint; ids: number[] }): LoggedEvent[] {
  let firstId = Number(inserted.insertId) - events.length + 1;
  if (store.dialect === 'postgres') {
    // Every replica hears of them at commit: the insert's trigger NOTIFYs (migration 0011), and
    // NOTIFY is transactional, delivered only if and when this transaction commits.
    const ids = inserted.ids.sort((a, b) => a - b);
    firstId = ids[0]!;
    // Not one contiguous run (a sequence cache, say): let the hub read them from the log.
    if (ids.at(-1)! - firstId + 1 !== events.length) return [];
  }
  const when = new Date(at).toISOString();
  return events.map(({ audience, event }, i) => ({ audience, envelope: { id: String(firstId + i), at: when, event } }));
}

export interface LoggedEvent {
  audience: Audience;
  envelope: StintEventEnvelope;
}

export function fromRow(row: EventRow): LoggedEvent {
  return {
    audience: JSON.parse(row.audience) as Audience,
    envelope: { id: String(row.id), at: new Date(row.at).toISOString(), event: JSON.parse(row.payload) as StintEvent },
  };
}

export async function readEventsAfter(db: Kysely<Database>, afterId: number, limit: number): Promise<LoggedEvent[]> {
  const rows = await db.selectFrom('events').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map(fromRow);
}

export async function lastEventId(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  return Number(row?.id ?? 0);
}
