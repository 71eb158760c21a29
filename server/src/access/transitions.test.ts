import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GrantState, RequestState } from '@stint/contract';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, testDatabase } from '../../test/harness';
import { openStore, type Store } from '../store/database';
import type { Database } from '../store/schema';
import { canMoveGrant, canMoveRequest, GRANT_TRANSITIONS, moveGrants, moveRequests, REQUEST_TRANSITIONS, TransitionError } from './transitions';

// The tables as the design states them; the code's tables must be exactly these.
const REQUEST_MOVES: [RequestState, RequestState][] = [
  ['pending', 'approved'],
  ['pending', 'denied'],
  ['pending', 'cancelled'],
  ['pending', 'expired'],
  ['approved', 'active'],
  ['approved', 'revoked'],
  // A ready grant not started in its window: the approval expires unused.
  ['approved', 'expired'],
  ['active', 'expired'],
  ['active', 'revoked'],
];
const GRANT_MOVES: [GrantState, GrantState][] = [
  // Start when ready: started (issuing), or ended without a credential (unstarted, released, revoked).
  ['ready', 'issuing'],
  ['ready', 'ended'],
  ['issuing', 'active'],
  ['issuing', 'revoking'],
  ['active', 'revoking'],
  ['revoking', 'ended'],
  ['revoking', 'revoking'],
  ['ended', 'revoking'],
];
const pairs = <S extends string>(states: readonly S[]) => states.flatMap((from) => states.map((to) => [from, to] as [S, S]));

describe('the state tables', () => {
  it.each(pairs(RequestState.options))('request %s -> %s is allowed exactly when the design lists it', (from, to) => {
    const listed = REQUEST_MOVES.some(([f, t]) => f === from && t === to);
    expect(canMoveRequest(from, to)).toBe(listed);
    expect((REQUEST_TRANSITIONS[from] as readonly string[]).includes(to)).toBe(listed);
  });

  it.each(pairs(GrantState.options))('grant %s -> %s is allowed exactly when the design lists it', (from, to) => {
    const listed = GRANT_MOVES.some(([f, t]) => f === from && t === to);
    expect(canMoveGrant(from, to)).toBe(listed);
    expect((GRANT_TRANSITIONS[from] as readonly string[]).includes(to)).toBe(listed);
  });

  it('makes an illegal move a type error, and refuses it at run time too', async () => {
    const trx = {} as Kysely<Database>;
    // @ts-expect-error an expired request never becomes active
    await expect(moveRequests(trx, { ids: ['x'] }, 'expired', 'active')).rejects.toBeInstanceOf(TransitionError);
    // @ts-expect-error a grant is never issued again once active
    await expect(moveGrants(trx, { ids: ['x'] }, 'active', 'issuing')).rejects.toThrow(/An active grant cannot become issuing/);
  });

  it('is the only code in the server that writes a state column', () => {
    const root = join(import.meta.dirname, '..');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('transitions.ts'));
    const offenders = files.filter((file) => {
      const text = readFileSync(join(root, file), 'utf8');
      // An update of requests or grants whose set(...) names `state`, in one statement.
      return [...text.matchAll(/updateTable\('(?:requests|grants)'\)[^;]*?\.set\(([^;]*?)\)\s*\./g)].some((m) => /\bstate\s*:/.test(m[1]!));
    });
    expect(offenders).toEqual([]);
  });
});

describe.each(ENGINES)('moves on %s', (engine) => {
  let store: Store;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await testDatabase(engine);
    drop = database.drop;
    store = await openStore(database.location);
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  let n = 0;
  async function requestIn(state: RequestState): Promise<string> {
    const id = `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`;
    await store.db
      .insertInto('requests')
      .values({
        id, system_id: 's', requester_sub: 'alice', requester_name: null, requester_email: null, requester_groups: '[]', duration_seconds: 60, reason: '', ticket: null,
        break_glass: 0, extends_grant_id: null, public_key: null, state, approvals_required: 0, approver_groups: '[]', flagged: 0, created_at: 0, updated_at: 0, pending_expires_at: 0, grant_id: null,
      })
      .execute();
    return id;
  }
  async function grantIn(state: GrantState): Promise<string> {
    const requestId = await requestIn('active');
    const id = `00000000-0000-7000-9000-${String(++n).padStart(12, '0')}`;
    await store.db
      .insertInto('grants')
      .values({
        id, request_id: requestId, system_id: 's', grantee_sub: 'alice', grantee_name: null, grantee_email: null, provider: 'demo', state, starts_at: 0, expires_at: 1,
        ended_at: null, end_reason: null, env_names: '[]', credential_sealed: null, provider_state: null, warned: 0, revoke_attempts: 0, next_attempt_at: null,
        lease_owner: 'lease-a', lease_until: null, revoke_count: 0, last_error: null, provider_key: null, system_config: null,
      })
      .execute();
    return id;
  }

  it.each(REQUEST_MOVES)('moves a %s request to %s, and leaves one in another state alone', async (from, to) => {
    const id = await requestIn(from);
    const otherState = from === 'pending' ? 'approved' : 'pending';
    const other = await requestIn(otherState);
    const moved = await store.db.transaction().execute((trx) => moveRequests(trx, { ids: [id, other] }, from as never, to as never, { updated_at: 5 }));
    expect(moved.map((r) => [r.id, r.state, r.updated_at])).toEqual([[id, to, 5]]);
    expect((await store.db.selectFrom('requests').select('state').where('id', '=', other).executeTakeFirstOrThrow()).state).toBe(otherState);
  });

  it.each(GRANT_MOVES)('moves a %s grant to %s, only under the lease named', async (from, to) => {
    const id = await grantIn(from);
    expect(await store.db.transaction().execute((trx) => moveGrants(trx, { ids: [id], lease: 'lease-b' }, from as never, to as never))).toEqual([]);
    const moved = await store.db.transaction().execute((trx) => moveGrants(trx, { ids: [id], lease: 'lease-a' }, from as never, to as never, { last_error: 'moved' }));
    expect(moved.map((g) => [g.state, g.last_error])).toEqual([[to, 'moved']]);
  });
});
