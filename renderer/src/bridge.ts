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

/** Reads the per-launch token from `#token=...`, then takes it out of the address bar. */
export function takeToken(location: Pick<Location, 'hash' | 'pathname' | 'search'>, history: Pick<History, 'replaceState'> | null): string | null {
  // Not URLSearchParams: it would read a '+' in the token as a space.
  const raw = /(?:^#|&)token=([^&]*)/.exec(location.hash)?.[1];
  let token: string | null = null;
  try {
    token = raw ? decodeURIComponent(raw) : null;
  } catch {
    token = null;
  }
  // Threat: a token left in the address bar is shown on screen, shared in screenshots and kept
  // in browser history; once read it lives only in this page's memory (never in storage).
  if (token && history) history.replaceState(null, '', `${location.pathname}${location.search}`);
  return token;
}

/**
 * StintBridge over core's web-mode WebSocket (`/bridge?token=...` on the page's own origin).
 * Replies and pushes are checked against the contract's schemas before the UI sees them;
 * the socket reconnects with exponential backoff, and calls made while it is down wait for it.
 */
export function connectWebBridge(location: Location, history: History | null = globalThis.history ?? null): StintBridge {
  const token = takeToken(location, history);
  const stateListeners = new Set<(state: CoreState) => void>();
  const noticeListeners = new Set<(notice: Notice) => void>();
  const pending = new Map<number, Pending>();
  const outbox: { id: number; message: string }[] = [];
  let nextId = 1;
  let socket: WebSocket | null = null;
  let attempt = 0;
  let lastState: CoreState | null = null;

  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/bridge?token=${encodeURIComponent(token ?? '')}`;

  function open() {
    if (!token) return;
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
      setTimeout(open, delay);
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

  open();

  return {
    call<M extends BridgeMethod>(method: M, input: BridgeInput<M>): Promise<BridgeOutput<M>> {
      if (!token) {
        return Promise.reject(new BridgeCallError('no_token', 'This page was opened without its access token; open the link `stint agent --web` printed.'));
      }
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
