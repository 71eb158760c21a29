// At most one live grant per person and system. A second grant for what someone already holds
// would give them two credentials, two deadlines and two cards for one piece of work, and its
// approvers a second review of it; more time is an extension of the grant they have. Checked
// inside the transaction that would add access, under lockPersonSystem, so two requests made at
// once (on any replica) cannot both find nothing and both go on.
import { formatDuration, shortId } from '@stint/contract';
import type { Kysely } from 'kysely';
import type { SystemConfig } from '../config/schema';
import { lockPersonSystem, type Store } from '../store/database';
import type { Database, RequestRow } from '../store/schema';
import { ApiProblem } from './context';

/** The person's grant for the system that is being issued or is active, before its deadline. */
export function liveGrant(trx: Kysely<Database>, sub: string, systemId: string, now: number) {
  return trx
    .selectFrom('grants')
    .select(['id', 'expires_at', 'state'])
    .where('grantee_sub', '=', sub)
    .where('system_id', '=', systemId)
    .where((eb) => eb.or([eb.and([eb('state', 'in', ['issuing', 'active']), eb('expires_at', '>', now)]), eb('state', '=', 'ready')]))
    .executeTakeFirst();
}

/**
 * The person's request for new access to the system that is still open: waiting for review, or
 * approved with its grant not yet claimed. An extension asks for more of a grant, not another.
 */
export function openRequest(trx: Kysely<Database>, sub: string, systemId: string, now: number) {
  return trx
    .selectFrom('requests')
    .select(['id', 'state'])
    .where('requester_sub', '=', sub)
    .where('system_id', '=', systemId)
    .where('extends_grant_id', 'is', null)
    .where((eb) => eb.or([
      eb.and([eb('state', '=', 'pending'), eb('pending_expires_at', '>', now)]),
      eb.and([eb('state', '=', 'approved'), eb('grant_id', 'is', null)]),
    ]))
    .executeTakeFirst();
}

/**
 * Refuses a new (not extension) request while its requester already has a live grant for the
 * system or an open request for it, in words that say what to do instead. Call it inside the
 * transaction that inserts the request, before the insert.
 */
export async function refuseSecondAccess(store: Pick<Store, 'dialect'>, trx: Kysely<Database>, sub: string, system: SystemConfig, now: number): Promise<void> {
  await lockPersonSystem(store, trx, sub, system.id);
  const grant = await liveGrant(trx, sub, system.id, now);
  if (grant?.state === 'ready') {
    throw new ApiProblem(409, 'grant_ready', `Your access to ${system.name} is approved and waits for you to start it; start it (Start on its card, or: stint start ${system.id}) rather than asking again.`);
  }
  if (grant) {
    const more = formatDuration(system.durations.presets[0]!);
    throw new ApiProblem(409, 'grant_active',
      `You already have access to ${system.name} for another ${timeLeft(grant.expires_at - now)}; extend it instead (Extend on its card, or: stint extend ${system.id} --for ${more}).`);
  }
  const request = await openRequest(trx, sub, system.id, now);
  if (request?.state === 'pending') {
    throw new ApiProblem(409, 'request_pending',
      `You already asked for ${system.name} and it waits for review; wait for the decision or cancel it (Cancel on its card, or: stint cancel ${shortId(request.id)}).`);
  }
  if (request) throw new ApiProblem(409, 'request_pending', `You already asked for ${system.name} and it was approved; your access is being set up.`);
}

/**
 * Refuses to claim a grant for a request while its requester holds another live grant for the
 * same system. New requests are refused in that case already; this covers requests that were
 * open side by side before that rule, so approving one of them cannot make a second grant.
 */
export async function refuseSecondGrant(store: Pick<Store, 'dialect'>, trx: Kysely<Database>, request: RequestRow, system: Pick<SystemConfig, 'name'>, now: number): Promise<void> {
  await lockPersonSystem(store, trx, request.requester_sub, request.system_id);
  const grant = await liveGrant(trx, request.requester_sub, request.system_id, now);
  if (!grant) return;
  throw new ApiProblem(409, 'grant_active',
    `${request.requester_name ?? request.requester_sub} already has access to ${system.name} for another ${timeLeft(grant.expires_at - now)}; this request can be approved once that grant is over.`);
}

/**
 * How long something still lasts, as people say it: "40 s", "12 min", "2 h 5 min". Relative on
 * purpose: the server does not know the reader's time zone, so it never writes a clock time.
 * Rounded down, so it never promises more time than there is.
 */
export function timeLeft(ms: number): string {
  const seconds = Math.max(1, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const rest = minutes % 60;
  return `${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ''}`;
}
