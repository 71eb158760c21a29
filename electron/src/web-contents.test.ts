import { describe, expect, it, vi } from 'vitest';
import { APP_ENTRY_URL } from './security';
import { createCallHandler, hardenSession, hardenWebContents, type HardenableContents } from './web-contents';

/** A plain stand-in for WebContents: records listeners and the window-open handler. */
function fakeContents() {
  const listeners = new Map<string, (event: { preventDefault(): void }, url?: string) => void>();
  let openHandler: ((details: { url: string }) => { action: 'deny' }) | null = null;
  const contents = {
    on(event: string, listener: (event: { preventDefault(): void }, url?: string) => void) {
      listeners.set(event, listener);
      return contents;
    },
    setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }) {
      openHandler = handler;
    },
  };
  const fire = (name: string, url = 'https://evil.example/') => {
    const event = { preventDefault: vi.fn() };
    const listener = listeners.get(name);
    if (!listener) throw new Error(`no ${name} listener`);
    listener(event, url);
    return event.preventDefault;
  };
  return { contents: contents as HardenableContents, fire, open: (url: string) => openHandler!({ url }) };
}

describe('hardenWebContents', () => {
  const setup = () => {
    const fake = fakeContents();
    const external = { openExternal: vi.fn(), idpOrigin: () => 'http://localhost:9000', log: vi.fn() };
    hardenWebContents(fake.contents, external);
    return { ...fake, external };
  };

  it.each(['will-navigate', 'will-redirect', 'will-attach-webview'])('prevents %s', (name) => {
    expect(setup().fire(name)).toHaveBeenCalledOnce();
  });

  it('prevents navigation even to the app’s own origin (the UI routes by hash)', () => {
    expect(setup().fire('will-navigate', APP_ENTRY_URL)).toHaveBeenCalledOnce();
  });

  it('denies every new window, sending only safe links to the browser', () => {
    const { open, external } = setup();
    expect(open('https://docs.example.com/')).toEqual({ action: 'deny' });
    expect(external.openExternal).toHaveBeenCalledWith('https://docs.example.com/');
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/x', 'http://example.com/']) {
      expect(open(url)).toEqual({ action: 'deny' });
    }
    expect(external.openExternal).toHaveBeenCalledTimes(1);
    expect(external.log).toHaveBeenCalledWith('window.open refused', 'file:///etc/passwd');
  });
});

describe('hardenSession', () => {
  it('denies every permission request and check', () => {
    let request: ((c: unknown, p: string, cb: (granted: boolean) => void) => void) | null = null;
    let check: ((c: unknown, p: string) => boolean) | null = null;
    hardenSession({ setPermissionRequestHandler: (h) => (request = h), setPermissionCheckHandler: (h) => (check = h) });
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      const callback = vi.fn();
      request!({}, permission, callback);
      expect(callback).toHaveBeenCalledWith(false);
      expect(check!({}, permission)).toBe(false);
    }
  });
});

describe('createCallHandler', () => {
  const mainFrame = { senderFrame: { url: APP_ENTRY_URL, parent: null } };

  it('dispatches a valid request from the app’s main frame and keeps its id', async () => {
    const dispatch = vi.fn(async () => ({ ok: true as const, result: { ok: true } }));
    const reply = await createCallHandler(dispatch)(mainFrame, { id: 7, method: 'signIn', input: {} });
    expect(dispatch).toHaveBeenCalledWith('signIn', {});
    expect(reply).toEqual({ id: 7, ok: true, result: { ok: true } });
  });

  it('passes dispatcher errors through as data', async () => {
    const dispatch = vi.fn(async () => ({ ok: false as const, error: { code: 'unknown_call', message: 'no env here' } }));
    expect(await createCallHandler(dispatch)(mainFrame, { id: 1, method: 'env', input: {} })).toEqual({
      id: 1,
      ok: false,
      error: { code: 'unknown_call', message: 'no env here' },
    });
  });

  it.each([
    ['a sub-frame', { senderFrame: { url: APP_ENTRY_URL, parent: {} } }, 'app://stint/index.html'],
    ['another origin', { senderFrame: { url: 'https://evil.example/page?secret=1#x', parent: null } }, 'https://evil.example/page'],
    ['a file:// page', { senderFrame: { url: 'file:///tmp/x.html', parent: null } }, 'file:///tmp/x.html'],
    ['a destroyed frame', { senderFrame: null }, '(destroyed frame)'],
  ])('refuses %s before core sees anything, and logs sender and channel without the payload', async (_name, event, sender) => {
    const dispatch = vi.fn();
    const log = vi.fn();
    expect(await createCallHandler(dispatch, log)(event, { id: 1, method: 'review', input: { comment: 'PAYLOAD-MARKER' } })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(dispatch).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledOnce();
    expect(log.mock.calls[0]![0]).toMatchObject({ channel: 'stint:call', sender, code: 'forbidden' });
    expect(JSON.stringify(log.mock.calls)).not.toContain('PAYLOAD-MARKER');
  });

  it.each([null, 'getState', { method: 'getState' }, { id: -1, method: 'getState', input: {} }, { id: 1, method: 'getState', input: {}, extra: 1 }])(
    'refuses the malformed payload %j, and logs it',
    async (payload) => {
      const dispatch = vi.fn();
      const log = vi.fn();
      expect(await createCallHandler(dispatch, log)(mainFrame, payload)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
      expect(dispatch).not.toHaveBeenCalled();
      expect(log).toHaveBeenCalledWith(expect.objectContaining({ channel: 'stint:call', sender: 'app://stint/index.html', mainFrame: true, code: 'invalid_request' }));
    },
  );

  it('logs a call the dispatcher refuses (an unknown method, bad input) with its method, not a failure of a call that ran', async () => {
    const log = vi.fn();
    const refusing = vi.fn(async () => ({ ok: false as const, error: { code: 'unknown_call', message: 'no env here' } }));
    await createCallHandler(refusing, log)(mainFrame, { id: 1, method: 'env', input: { systems: ['PAYLOAD-MARKER'] } });
    expect(log).toHaveBeenCalledWith({ channel: 'stint:call', sender: 'app://stint/index.html', mainFrame: true, code: 'unknown_call', method: 'env' });
    expect(JSON.stringify(log.mock.calls)).not.toContain('PAYLOAD-MARKER');
    const failing = vi.fn(async () => ({ ok: false as const, error: { code: 'not_found', message: 'No such grant.' } }));
    await createCallHandler(failing, log)(mainFrame, { id: 2, method: 'release', input: {} });
    expect(log).toHaveBeenCalledOnce();
  });
});
