import type { StintEvent, StintEventEnvelope } from '@stint/contract';
import { sql, type Kysely } from 'kysely';
import type { Principal } from '../auth/principal';
import { lockAppendLog, type Store } from '../store/database';
import type { Database, EventRow } from '../store/schema';

/** Who an event is for: named people, members of groups, minus some (the requester of a review). */
export interface Audience {
  subs: string[];
  groups: string[];
  notSubs: string[];
}

export const PG_EVENT_CHANNEL = 'stint_events';

export function isFor(audience: Audience, user: Pick<Principal, 'sub' | 'groups'>): boolean {
  if (audience.notSubs.includes(user.sub)) return false;
  return audience.subs.includes(user.sub) || audience.groups.some((g) => user.groups.includes(g));
}

/** Records events inside the caller's transaction; with PostgreSQL every replica hears of it at commit. */
export async function appendEvents(
  store: Pick<Store, 'dialect'>,
  trx: Kysely<Database>,
  at: number,
  events: readonly { audience: Audience; event: StintEvent }[],
): Promise<void> {
  if (events.length === 0) return;
  await lockAppendLog(store, trx);
  await trx
    .insertInto('events')
    .values(events.map(({ audience, event }) => ({ at, type: event.type, audience: JSON.stringify(audience), payload: JSON.stringify(event) })))
    .execute();
  // NOTIFY is transactional: it is delivered only if and when this transaction commits.
  if (store.dialect === 'postgres') await sql`select pg_notify(${PG_EVENT_CHANNEL}, '')`.execute(trx);
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
