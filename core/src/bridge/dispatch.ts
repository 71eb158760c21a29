import { BridgeCalls, SocketCalls, type BridgeError } from '@stint/contract';
import type { z } from 'zod';
import { ApiError } from '../api/client';
import type { StintCore } from '../core';

type Calls = typeof SocketCalls;
type Handlers = { [M in keyof Calls]: (input: z.output<Calls[M]['input']>) => Promise<z.input<Calls[M]['output']>> | z.input<Calls[M]['output']> };
export type Reply = { ok: true; result: unknown } | { ok: false; error: BridgeError };
export type Dispatch = (method: string, input: unknown) => Promise<Reply>;

const ok = { ok: true as const };

/** What the host adds to core's calls: web mode's one-time links, when web mode is on. */
export interface HostCalls {
  webLink?(open: boolean): Promise<string>;
}

function handlers(core: StintCore, host: HostCalls): Handlers {
  return {
    getState: () => core.getState(),
    signIn: async () => (await core.signIn(), ok),
    cancelSignIn: async () => (core.cancelSignIn(), ok),
    setClientSecret: async ({ secret }) => (await core.setClientSecret(secret), ok),
    signOut: async () => (await core.signOut(), ok),
    request: (input) => core.request(input),
    review: (input) => core.review(input),
    cancel: ({ requestId }) => core.cancel(requestId),
    release: async ({ grantId }) => (await core.release(grantId), ok),
    start: ({ grantId }) => core.startGrant(grantId),
    extend: (input) => core.extend(input),
    history: () => core.history(),
    insights: (query) => core.insights(query),
    auditRows: async ({ seqs }) => ({ entries: await core.auditRows(seqs) }),
    getSettings: () => core.getSettings(),
    updateSettings: (patch) => core.updateSettings(patch),
    env: ({ systems }) => core.env(systems),
    webLink: async ({ open }) => {
      if (!host.webLink) throw Object.assign(new Error('This Stint serves no web UI (it is the desktop app, or `stint agent` started without --web).'), { code: 'no_web_ui' });
      return { url: await host.webLink(open) };
    },
  };
}

/** Turns any failure into {code, message} a person can act on; internals stay in the log. */
export function toBridgeError(error: unknown): BridgeError {
  if (error instanceof ApiError) return { code: error.code, message: error.message };
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return { code: error.code, message: error.message };
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}

/**
 * One dispatcher for IPC, the web-mode WebSocket and the local socket. Only the calls of the
 * given surface exist (the UI surface has no `env`); input and output are both checked against
 * the contract, so nothing outside the schema (say, a secret) can leave by accident.
 */
export function createDispatcher(core: StintCore, surface: 'bridge' | 'socket', host: HostCalls = {}): Dispatch {
  const calls: Partial<Calls> = surface === 'bridge' ? BridgeCalls : SocketCalls;
  const table = handlers(core, host);
  return async (method, input) => {
    if (!Object.hasOwn(calls, method)) return { ok: false, error: { code: 'unknown_call', message: `Stint has no call named "${method}".` } };
    const name = method as keyof Calls;
    const spec = calls[name]!;
    const parsed = spec.input.safeParse(input ?? {});
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
      return { ok: false, error: { code: 'invalid_input', message: `The ${method} call was refused: ${detail}.` } };
    }
    try {
      const handler = table[name] as (input: unknown) => Promise<unknown> | unknown;
      return { ok: true, result: spec.output.parse(await handler(parsed.data)) };
    } catch (error) {
      return { ok: false, error: toBridgeError(error) };
    }
  };
}
