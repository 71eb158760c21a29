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
    ['a sub-frame', { senderFrame: { url: APP_ENTRY_URL, parent: {} } }],
    ['another origin', { senderFrame: { url: 'https://evil.example/', parent: null } }],
    ['a file:// page', { senderFrame: { url: 'file:///tmp/x.html', parent: null } }],
    ['a destroyed frame', { senderFrame: null }],
  ])('refuses %s before core sees anything', async (_name, event) => {
    const dispatch = vi.fn();
    expect(await createCallHandler(dispatch)(event, { id: 1, method: 'getState', input: {} })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(dispatch).not.toHaveBeenCalled();
  });

  it.each([null, 'getState', { method: 'getState' }, { id: -1, method: 'getState', input: {} }, { id: 1, method: 'getState', input: {}, extra: 1 }])(
    'refuses the malformed payload %j',
    async (payload) => {
      const dispatch = vi.fn();
      expect(await createCallHandler(dispatch)(mainFrame, payload)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
      expect(dispatch).not.toHaveBeenCalled();
    },
  );
});
