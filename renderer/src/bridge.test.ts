import type { CoreState } from '@stint/contract';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectWebBridge, takeCode } from './bridge';

/** Just enough of the browser's WebSocket for the bridge: the test plays core's side. */
class FakeSocket extends EventTarget {
  static readonly OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  constructor(readonly url: string) {
    super();
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  open() {
    this.readyState = 1;
    this.dispatchEvent(new Event('open'));
  }
  receive(message: unknown) {
    this.dispatchEvent(new MessageEvent('message', { data: typeof message === 'string' ? message : JSON.stringify(message) }));
  }
  drop() {
    this.readyState = 3;
    this.dispatchEvent(new Event('close'));
  }
}

const STATE: CoreState = {
  serverUrl: 'http://127.0.0.1:1',
  auth: { status: 'signed-out', user: null, message: null },
  connection: 'online',
  systems: [],
  myRequests: [],
  reviewQueue: [],
  grants: [],
  waiting: [],
  revision: 0,
};

const HOME = '/s/AAAAAAAAAAAAAAAAAAAAAA/';

/** A page at `pathname` (a session's home by default); `fetcher` plays core's HTTP side. */
function setup(options: { hash?: string; pathname?: string; fetcher?: (url: string, init?: RequestInit) => Promise<Response> } = {}) {
  FakeSocket.all = [];
  vi.stubGlobal('WebSocket', FakeSocket);
  const history = { replaceState: vi.fn() };
  const location = { hash: options.hash ?? '', pathname: options.pathname ?? HOME, search: '', protocol: 'http:', host: '127.0.0.1:5555', replace: vi.fn() };
  const fetcher = vi.fn(options.fetcher ?? (async () => new Response(null, { status: 204 })));
  const bridge = connectWebBridge(location as unknown as Location, history as unknown as History, fetcher as unknown as typeof fetch);
  return { bridge, history, location, fetcher, socket: () => FakeSocket.all.at(-1)! };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('the web bridge', () => {
  it('trades the one-time code for a session, takes it out of the address bar, and moves to the session', async () => {
    const { history, location, fetcher } = setup({ hash: '#code=abc+/=', pathname: '/', fetcher: async () => Response.json({ home: HOME }) });
    expect(history.replaceState).toHaveBeenCalledWith(null, '', '/');
    await vi.waitFor(() => expect(location.replace).toHaveBeenCalledWith(HOME));
    expect(fetcher).toHaveBeenCalledWith('/session', expect.objectContaining({ method: 'POST', body: JSON.stringify({ code: 'abc+/=' }) }));
    expect(FakeSocket.all).toHaveLength(0); // no socket before the session exists
    expect(takeCode({ hash: '', pathname: '/', search: '' }, null)).toBeNull();
  });

  it('says what to do when the code was refused (used, expired), and makes no socket', async () => {
    const { bridge } = setup({ hash: '#code=spent', pathname: '/', fetcher: async () => Response.json({ error: 'link_used', message: 'This link was already used or is not valid. Run `stint ui` for a fresh one.' }, { status: 403 }) });
    await expect(bridge.call('signIn', {})).rejects.toMatchObject({ code: 'link_used', message: expect.stringMatching(/stint ui/) });
    expect(FakeSocket.all).toHaveLength(0);
  });

  it('opens the socket on its session path', () => {
    const { socket } = setup();
    expect(socket().url).toBe(`ws://127.0.0.1:5555${HOME}bridge`);
  });

  it('sends calls once open and resolves checked replies', async () => {
    const { bridge, socket } = setup();
    const pending = bridge.call('signIn', {});
    socket().open();
    expect(socket().sent).toEqual([{ id: 1, method: 'signIn', input: {} }]);
    socket().receive({ id: 1, ok: true, result: { ok: true } });
    await expect(pending).resolves.toEqual({ ok: true });
  });

  it('rejects with the error message core sent, and refuses replies that break the schema', async () => {
    const { bridge, socket } = setup();
    socket().open();
    const denied = bridge.call('release', { grantId: '6f1c1f8e-3f7a-4a53-9b1f-0f3b8f6c2a11' });
    socket().receive({ id: 1, ok: false, error: { code: 'not_found', message: 'No such grant.' } });
    await expect(denied).rejects.toMatchObject({ code: 'not_found', message: 'No such grant.' });
    const odd = bridge.call('signOut', {});
    socket().receive({ id: 2, ok: true, result: { secret: 'x' } });
    await expect(odd).rejects.toMatchObject({ code: 'bad_reply' });
    await expect(bridge.call('release', { grantId: 'nope' })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('passes valid pushes to listeners and drops malformed ones', () => {
    const { bridge, socket } = setup();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const states: CoreState[] = [];
    const notices: unknown[] = [];
    bridge.onState((s) => states.push(s));
    bridge.onNotice((n) => notices.push(n));
    socket().open();
    socket().receive({ push: 'state', state: STATE });
    socket().receive({ push: 'state', state: { ...STATE, revision: -1 } });
    socket().receive('not json');
    socket().receive({ push: 'notice', notice: { kind: 'error', message: 'boom' } });
    expect(states).toEqual([STATE]);
    expect(notices).toEqual([{ kind: 'error', message: 'boom' }]);
    expect(warn).toHaveBeenCalledOnce();
  });

  it('rejects in-flight calls when the socket drops, and reconnects with backoff', async () => {
    vi.useFakeTimers();
    const { bridge, socket } = setup();
    const first = socket();
    first.open();
    const lost = bridge.call('signIn', {});
    first.drop();
    await expect(lost).rejects.toMatchObject({ code: 'disconnected' });
    const queued = bridge.call('signIn', {});
    await vi.advanceTimersByTimeAsync(1000);
    const second = socket();
    expect(second).not.toBe(first);
    second.open();
    expect(second.sent).toEqual([{ id: 2, method: 'signIn', input: {} }]);
    second.receive({ id: 2, ok: true, result: { ok: true } });
    await expect(queued).resolves.toEqual({ ok: true });
  });

  it('refuses calls when the page was opened without its one-time address', async () => {
    const { bridge } = setup({ pathname: '/' });
    expect(FakeSocket.all).toHaveLength(0);
    await expect(bridge.call('signIn', {})).rejects.toMatchObject({ code: 'no_session', message: expect.stringMatching(/stint ui/) });
  });

  it('stops reconnecting, and says so, once Stint no longer knows the session', async () => {
    const { bridge, socket, fetcher } = setup({ fetcher: async () => new Response(null, { status: 401 }) });
    const waiting = bridge.call('signIn', {});
    socket().drop();
    await expect(waiting).rejects.toMatchObject({ code: 'session_ended', message: expect.stringMatching(/stint ui/) });
    expect(fetcher).toHaveBeenCalledWith(`${HOME}session`, expect.anything());
    await expect(bridge.call('getState', {})).rejects.toMatchObject({ code: 'session_ended' });
    expect(FakeSocket.all).toHaveLength(1);
  });
});
