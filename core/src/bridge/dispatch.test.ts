// The dispatcher is the one gate between a caller (the UI over IPC or web mode, the CLI over
// the local socket) and core: only the surface's own calls exist, input is checked before core
// sees it, and output is checked (and stripped) before it leaves. Driven through a real
// StintCore with in-memory stores; nothing here signs in.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessRequest, CoreState, type Settings } from '@stint/contract';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import type { StintCore } from '../core';
import { createDispatcher, type Dispatch, type Reply } from './dispatch';
import { GRANT_ID, offlineCoreWithGrant, PASSWORD, REQUEST_ID } from './offline-core.fixture';


const anAccessRequest: AccessRequest = AccessRequest.parse({
  id: REQUEST_ID,
  systemId: 'orders-db',
  requester: { sub: 'alice', name: 'Alice', email: 'alice@example.com' },
  durationSeconds: 900,
  reason: '',
  ticket: null,
  breakGlass: false,
  extendsGrantId: null,
  state: 'pending',
  approvalsRequired: 1,
  approverGroups: ['dba'],
  reviews: [],
  flaggedForReview: false,
  createdAt: '2026-03-01T11:00:00.000Z',
  updatedAt: '2026-03-01T11:00:00.000Z',
  pendingExpiresAt: '2026-03-01T12:00:00.000Z',
  grantId: null,
});

let dir: string;
let core: StintCore;
let bridge: Dispatch;
let socket: Dispatch;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stint-dispatch-'));
  core = await offlineCoreWithGrant(dir);
  bridge = createDispatcher(core, 'bridge');
  socket = createDispatcher(core, 'socket');
});

afterEach(async () => {
  vi.restoreAllMocks();
  await core.stop();
  rmSync(dir, { recursive: true, force: true });
});

function refused(reply: Reply): { code: string; message: string } {
  if (reply.ok) throw new Error(`expected a refusal, got ${JSON.stringify(reply)}`);
  return reply.error;
}

function result(reply: Reply): unknown {
  if (!reply.ok) throw new Error(`expected success, got ${JSON.stringify(reply)}`);
  return reply.result;
}

describe('which calls exist', () => {
  it('refuses a call no surface has, naming it', async () => {
    for (const dispatch of [bridge, socket]) {
      const error = refused(await dispatch('deleteEverything', {}));
      expect(error.code).toBe('unknown_call');
      expect(error.message).toContain('deleteEverything');
    }
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'prototype'])(
    'treats the inherited name %s as an unknown call, not a way into Object.prototype',
    async (method) => {
      for (const dispatch of [bridge, socket]) {
        const reply = await dispatch(method, {});
        expect(refused(reply).code).toBe('unknown_call');
      }
    },
  );

  it('has no `env` on the UI bridge, so a compromised page cannot read credentials', async () => {
    const reply = await bridge('env', {});
    expect(refused(reply).code).toBe('unknown_call');
    expect(JSON.stringify(reply)).not.toContain(PASSWORD);
  });

  it('offers `env` on the local socket, with the secret values, filtered by system', async () => {
    const all = result(await socket('env', {})) as { grants: { grantId: string; systemId: string; env: Record<string, string> }[] };
    expect(all.grants).toHaveLength(1);
    expect(all.grants[0]).toMatchObject({ grantId: GRANT_ID, systemId: 'orders-db', env: { PGUSER: 'stint_alice', PGPASSWORD: PASSWORD } });
    expect(Object.keys(all)).toEqual(['grants']);

    const other = result(await socket('env', { systems: ['billing-api'] })) as { grants: unknown[] };
    expect(other.grants).toEqual([]);
  });

  it('takes a missing input as {} for calls without arguments', async () => {
    expect(CoreState.safeParse(result(await bridge('getState', undefined))).success).toBe(true);
    expect(CoreState.safeParse(result(await bridge('getState', null))).success).toBe(true);
  });
});

describe('input is checked before core is called', () => {
  it('refuses a bad request naming each bad field, and calls nothing', async () => {
    const request = vi.spyOn(core, 'request');
    const error = refused(await bridge('request', { systemId: 'Orders DB!', durationSeconds: -5 }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toContain('request');
    expect(error.message).toContain('systemId');
    expect(error.message).toContain('durationSeconds');
    expect(request).not.toHaveBeenCalled();
  });

  it('refuses fields the contract does not know (strict input), naming them', async () => {
    const request = vi.spyOn(core, 'request');
    const error = refused(await bridge('request', { systemId: 'orders-db', durationSeconds: 900, approvedBy: 'alice' }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toContain('approvedBy');
    expect(request).not.toHaveBeenCalled();
  });

  it('refuses a non-object input and arguments to a call that takes none', async () => {
    const getState = vi.spyOn(core, 'getState');
    expect(refused(await bridge('getState', 'everything')).code).toBe('invalid_input');
    expect(refused(await bridge('getState', { includeSecrets: true })).code).toBe('invalid_input');
    expect(getState).not.toHaveBeenCalled();
  });

  it('refuses a settings patch with a field that does not exist, and leaves settings as they were', async () => {
    const before = core.getSettings();
    const error = refused(await bridge('updateSettings', { serverUrl: 'https://stint.example.com', autoApproveEverything: true }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toContain('autoApproveEverything');
    expect(core.getSettings()).toEqual(before);
  });

  it('hands core the parsed input, with the contract defaults filled in', async () => {
    const request = vi.spyOn(core, 'request').mockResolvedValue(anAccessRequest);
    const reply = await bridge('request', { systemId: 'orders-db', durationSeconds: 900 });
    expect(result(reply)).toEqual(anAccessRequest);
    expect(request).toHaveBeenCalledTimes(1);
    expect(request).toHaveBeenCalledWith({ systemId: 'orders-db', durationSeconds: 900, reason: '', breakGlass: false });
  });
});

describe('output is checked against the contract before it leaves', () => {
  it('strips anything outside CoreState, at every level', async () => {
    const real = core.getState();
    vi.spyOn(core, 'getState').mockReturnValue({
      ...real,
      refreshToken: 'rt-secret-should-not-leave',
      auth: { ...real.auth, accessToken: 'at-secret-should-not-leave' },
    } as CoreState);
    const state = result(await bridge('getState', {})) as Record<string, unknown>;
    expect(Object.keys(state).sort()).toEqual(Object.keys(CoreState.shape).sort());
    expect(Object.keys(state.auth as object).sort()).toEqual(['message', 'status', 'user']);
    expect(JSON.stringify(state)).not.toContain('should-not-leave');
  });

  it('refuses to pass on a result that breaks the contract instead of forwarding it', async () => {
    vi.spyOn(core, 'getSettings').mockReturnValue({ ...core.getSettings(), serverUrl: 'not a url' } as Settings);
    const reply = await bridge('getSettings', {});
    expect(reply.ok).toBe(false);
    expect(reply).not.toHaveProperty('result');
  });
});

describe('failures become {code, message}', () => {
  it("passes an API error's code and message through", async () => {
    vi.spyOn(core, 'cancel').mockRejectedValue(new ApiError(404, 'not_found', 'No request with that id is yours to cancel.'));
    expect(refused(await bridge('cancel', { requestId: REQUEST_ID }))).toEqual({ code: 'not_found', message: 'No request with that id is yours to cancel.' });
  });

  it('keeps the code of a coded error and says "failed" for any other', async () => {
    vi.spyOn(core, 'history').mockRejectedValueOnce(Object.assign(new Error('The keychain is locked.'), { code: 'keychain_locked' }));
    expect(refused(await bridge('history', {}))).toEqual({ code: 'keychain_locked', message: 'The keychain is locked.' });

    const error = refused(await bridge('updateSettings', { serverUrl: 'http://stint.example.com' }));
    expect(error.code).toBe('failed');
    expect(error.message).toMatch(/https/);
  });

  it('applies a valid settings change and returns the whole settings', async () => {
    const settings = result(await bridge('updateSettings', { remindersSeconds: [300] })) as Settings;
    expect(settings.remindersSeconds).toEqual([300]);
    expect(core.getSettings().remindersSeconds).toEqual([300]);
  });
});
