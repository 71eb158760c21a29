import type { StintEvent, StintEventEnvelope } from '@stint/contract';
import type { Kysely } from 'kysely';
import type { Principal } from '../auth/principal';
import { lockAppendLog, type Store } from '../store/database';
import { insertRows } from '../store/insert';
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

/**
 * Records events inside the caller's transaction, and returns them as logged (with their ids)
 * for the caller to hand to `ctx.eventsCommitted` once the transaction has committed. With
 * PostgreSQL every replica also hears of them at commit.
 */
export async function appendEvents(
  store: Pick<Store, 'dialect'>,
  trx: Kysely<Database>,
  at: number,
  events: readonly { audience: Audience; event: StintEvent }[],
): Promise<LoggedEvent[]> {
  if (events.length === 0) return [];
  await lockAppendLog(store, trx);
  const rows = events.map(({ audience, event }) => ({ at, type: event.type, audience: JSON.stringify(audience), payload: JSON.stringify(event) }));
  // One statement's rows take ascending ids in the order given, contiguous under the append
  // lock. SQLite reports the last id (RETURNING would cost it twice the insert); PostgreSQL
  // returns them, in no promised order.
  const inserted = await insertRows(store, trx, 'events', rows, { returningId: true });
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
