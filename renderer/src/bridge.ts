import {
  BridgeCalls,
  BridgePush,
  BridgeReply,
  type BridgeInput,
  type BridgeMethod,
  type BridgeOutput,
  type CoreState,
  type Notice,
  type StintBridge,
} from '@stint/contract';

declare global {
  interface Window {
    /** Electron's preload exposes the bridge here; in a browser it is absent. */
    stint?: StintBridge;
  }
}

/** A failed call, with the bridge's error code for programs and its message for people. */
export class BridgeCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BridgeCallError';
  }
}

interface Pending {
  method: BridgeMethod;
  /** Handed to a socket (so it may have run) rather than still waiting in the outbox. */
  sent: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const MAX_BACKOFF_MS = 10_000;

/** Reads the one-time code from `#code=...`, then takes it out of the address bar. */
export function takeCode(location: Pick<Location, 'hash' | 'pathname' | 'search'>, history: Pick<History, 'replaceState'> | null): string | null {
  const raw = /(?:^#|&)code=([^&]*)/.exec(location.hash)?.[1];
  let code: string | null = null;
  try {
    code = raw ? decodeURIComponent(raw) : null;
  } catch {
    code = null;
  }
  // Threat: an address left in the bar is shown on screen, shared in screenshots and kept in
  // history; the code is spent at once anyway, but it has no business staying there.
  if (raw !== undefined && history) history.replaceState(null, '', `${location.pathname}${location.search}`);
  return code;
}

/** `/s/<session>/`: where the app lives once its one-time code was traded for a session. */
const SESSION_HOME = /^\/s\/[A-Za-z0-9_-]{22}\//;

type PageLocation = Pick<Location, 'hash' | 'pathname' | 'search' | 'protocol' | 'host' | 'replace'>;

const NO_SESSION = 'This page was opened without its one-time address. Run `stint ui` in a terminal (or open the address `stint agent --web` printed).';
const SESSION_ENDED = 'This browser session with Stint has ended (Stint was restarted?). Run `stint ui` for a fresh address.';

/**
 * StintBridge over core's web-mode WebSocket. The page arrives with a one-time code, trades it
 * (POST /session) for an HttpOnly session cookie scoped to `/s/<session>/`, and moves there;
 * from there the socket is `/s/<session>/bridge`. Replies and pushes are checked against the
 * contract's schemas before the UI sees them; the socket reconnects with exponential backoff,
 * and calls made while it is down wait for it, unless the session itself has ended.
 */
export function connectWebBridge(location: PageLocation, history: History | null = globalThis.history ?? null, fetcher: typeof fetch = (...args) => fetch(...args)): StintBridge {
  const code = takeCode(location, history);
  const home = SESSION_HOME.exec(location.pathname)?.[0] ?? null;
  const stateListeners = new Set<(state: CoreState) => void>();
  const noticeListeners = new Set<(notice: Notice) => void>();
  const pending = new Map<number, Pending>();
  const outbox: { id: number; message: string }[] = [];
  let nextId = 1;
  let socket: WebSocket | null = null;
  let attempt = 0;
  let lastState: CoreState | null = null;
  /** Set when no socket can ever open for this page: every call fails with it. */
  let failure: BridgeCallError | null = null;

  const url = home ? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${home}bridge` : '';

  function fail(error: BridgeCallError) {
    failure = error;
    outbox.splice(0);
    for (const [id, call] of pending) {
      pending.delete(id);
      call.reject(error);
    }
  }

  async function exchange(oneTimeCode: string) {
    try {
      const response = await fetcher('/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: oneTimeCode }), credentials: 'same-origin' });
      const body = (await response.json().catch(() => ({}))) as { home?: unknown; message?: unknown; error?: unknown };
      if (response.ok && typeof body.home === 'string' && SESSION_HOME.test(body.home)) {
        location.replace(body.home);
        return;
      }
      fail(new BridgeCallError(typeof body.error === 'string' ? body.error : 'link_refused', typeof body.message === 'string' ? body.message : NO_SESSION));
    } catch {
      fail(new BridgeCallError('disconnected', 'Could not reach Stint; is `stint agent --web` still running?'));
    }
  }

  /** After a drop: a session Stint no longer knows will never reconnect, so say so. */
  async function sessionHolds(): Promise<boolean> {
    try {
      return (await fetcher(`${home}session`, { credentials: 'same-origin' })).status !== 401;
    } catch {
      return true; // Stint is down: keep trying, it may come back
    }
  }

  function open() {
    if (failure || !home) return;
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener('open', () => {
      attempt = 0;
      for (const { id, message } of outbox.splice(0)) {
        const call = pending.get(id);
        if (!call) continue;
        call.sent = true;
        ws.send(message);
      }
    });
    ws.addEventListener('message', (event) => receive(String(event.data)));
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = null;
      // In-flight calls may or may not have run; say so rather than retry them blindly.
      for (const [id, call] of pending) {
        if (call.sent) {
          pending.delete(id);
          call.reject(new BridgeCallError('disconnected', 'Lost the connection to Stint; try again once it reconnects.'));
        }
      }
      const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempt) * (0.75 + Math.random() / 2);
      attempt += 1;
      void sessionHolds().then((holds) => {
        if (holds) setTimeout(open, delay);
        else fail(new BridgeCallError('session_ended', SESSION_ENDED));
      });
    });
  }

  function receive(text: string) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return;
    }
    if (data && typeof data === 'object' && 'push' in data) {
      const push = BridgePush.safeParse(data);
      if (!push.success) {
        console.warn('Stint: ignored a malformed push', push.error.message);
        return;
      }
      if (push.data.push === 'state') {
        lastState = push.data.state;
        for (const listener of stateListeners) listener(push.data.state);
      } else {
        for (const listener of noticeListeners) listener(push.data.notice);
      }
      return;
    }
    const reply = BridgeReply.safeParse(data);
    if (!reply.success) return;
    const call = pending.get(reply.data.id);
    if (!call) return;
    pending.delete(reply.data.id);
    if (!reply.data.ok) {
      call.reject(new BridgeCallError(reply.data.error.code, reply.data.error.message));
      return;
    }
    const output = BridgeCalls[call.method].output.safeParse(reply.data.result);
    if (output.success) call.resolve(output.data);
    else call.reject(new BridgeCallError('bad_reply', `Stint sent an unexpected reply to ${call.method}.`));
  }

  if (code) void exchange(code);
  else if (!home) failure = new BridgeCallError('no_session', NO_SESSION);
  open();

  return {
    call<M extends BridgeMethod>(method: M, input: BridgeInput<M>): Promise<BridgeOutput<M>> {
      if (failure) return Promise.reject(failure);
      const checked = BridgeCalls[method].input.safeParse(input);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        return Promise.reject(new BridgeCallError('invalid_input', issue ? `${issue.path.join('.') || 'input'}: ${issue.message}` : 'Invalid input.'));
      }
      const id = nextId++;
      const message = JSON.stringify({ id, method, input: checked.data });
      return new Promise<BridgeOutput<M>>((resolve, reject) => {
        const open = socket?.readyState === WebSocket.OPEN;
        pending.set(id, { method, sent: open, resolve: resolve as (value: unknown) => void, reject });
        if (open) socket?.send(message);
        else outbox.push({ id, message });
      });
    },
    onState(listener) {
      stateListeners.add(listener);
      if (lastState) listener(lastState);
      return () => {
        stateListeners.delete(listener);
      };
    },
    onNotice(listener) {
      noticeListeners.add(listener);
      return () => {
        noticeListeners.delete(listener);
      };
    },
  };
}

/** Electron's preload when present, else the web bridge; one per page. */
let bridge: StintBridge | null = null;
export function getBridge(): StintBridge {
  bridge ??= window.stint ?? connectWebBridge(window.location, window.history);
  return bridge;
}
