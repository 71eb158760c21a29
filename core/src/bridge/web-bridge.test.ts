// Web mode: the UI in an ordinary browser talks to core over a WebSocket on 127.0.0.1. The
// threats are another local user and any web page open in the same browser, so these tests
// knock on the socket the way they would (no token, a guessed token, a foreign Origin).
// The static files are read the way a curious client would in web-bridge-static-files.test.ts.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { BridgePush, BridgeReply, CoreState } from '@stint/contract';
import { describe, expect, it } from 'vitest';
import { createDispatcher } from './dispatch';
import { PASSWORD } from './offline-core.fixture';
import { LINK_TTL_MS, serveWebBridge } from './web-bridge';
import { bridge, codeOf, core, nextMessage, openBridge, openSocket, port, rendererDir, serveWebBridgeForEachTest, session, trade } from './web-bridge.fixture';

serveWebBridgeForEachTest();

describe('where it listens', () => {
  it('is on 127.0.0.1 only, not on every interface', async () => {
    expect(bridge.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // 127.0.0.2 is also this machine: a server bound to 0.0.0.0 would answer there too.
    const reached = await new Promise<boolean>((resolve) => {
      const probe = connect(port(), '127.0.0.2');
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    expect(reached).toBe(false);
  });

  it('answers only under its own address (a DNS-rebound name is refused)', async () => {
    const { home, cookie } = await session();
    expect(await openSocket(`${home}bridge`, { origin: bridge.origin, cookie, host: `evil.example:${port()}` })).toEqual({ status: 403 });
    const page = await new Promise<number>((resolve) => httpRequest({ host: '127.0.0.1', port: port(), path: '/', headers: { host: 'evil.example' } }, (r) => (r.resume(), resolve(r.statusCode ?? 0))).end());
    expect(page).toBe(421);
  });
});

describe('the one-time address', () => {
  it('carries only a fresh, unguessable one-time code', () => {
    const first = bridge.link();
    const second = bridge.link();
    expect(first).toMatch(new RegExp(`^${bridge.origin}/#code=[A-Za-z0-9_-]{43}$`));
    expect(second).not.toBe(first);
  });

  it('is traded once for an HttpOnly, SameSite=Strict cookie scoped to the session’s own path', async () => {
    const { home, setCookie } = await session();
    expect(home).toMatch(/^\/s\/[A-Za-z0-9_-]{22}\/$/);
    expect(setCookie).toMatch(new RegExp(`^stint-session=[A-Za-z0-9_-]{43}; Path=${home}; HttpOnly; SameSite=Strict$`));
    // The session's secret is only in the cookie: never in an address the browser shows.
    expect(home).not.toContain(setCookie.split(';')[0]!.split('=')[1]!);
  });

  it('refuses a replayed code, from the right origin or a forged one', async () => {
    const code = codeOf(bridge.link());
    expect((await trade(code)).status).toBe(200);
    const replay = await trade(code);
    expect(replay).toMatchObject({ status: 403, body: { error: 'link_used', message: expect.stringMatching(/stint ui/) } });
    expect(replay.cookie).toBeNull();
    expect((await trade(code, { origin: 'https://evil.example', 'content-type': 'application/json' })).status).toBe(403);
  });

  it('spends a code presented with a forged Origin, so the attacker’s try also burns it for good', async () => {
    const code = codeOf(bridge.link());
    for (const origin of ['https://evil.example', `http://localhost:${port()}`, 'null']) {
      const forged = await trade(code, { origin, 'content-type': 'application/json' });
      expect(forged.status).toBe(403);
      expect(forged.cookie).toBeNull();
    }
    expect((await trade(code)).status).toBe(403);
  });

  it('refuses a code without an Origin (a non-browser client) or sent as a form (a cross-site post)', async () => {
    expect((await trade(codeOf(bridge.link()), { 'content-type': 'application/json' })).status).toBe(403);
    expect((await trade(codeOf(bridge.link()), { origin: bridge.origin, 'content-type': 'text/plain' })).status).toBe(403);
  });

  it('expires within seconds', async () => {
    let now = Date.now();
    const timed = await serveWebBridge(core, createDispatcher(core, 'bridge'), { rendererDir, now: () => now });
    try {
      const code = codeOf(timed.link());
      now += LINK_TTL_MS + 1;
      const response = await fetch(`${timed.origin}/session`, { method: 'POST', headers: { origin: timed.origin, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
      expect(response.status).toBe(410);
      expect(((await response.json()) as { message: string }).message).toMatch(/expired .*stint ui/);
    } finally {
      await timed.close();
    }
  });
});

describe('who may open the bridge socket', () => {
  it('refuses a socket without the session cookie, or with a wrong one', async () => {
    const { home, cookie } = await session();
    expect(await openSocket(`${home}bridge`)).toEqual({ status: 403 });
    const secret = cookie.slice('stint-session='.length);
    const wrong = `stint-session=${secret.startsWith('A') ? 'B' : 'A'}${secret.slice(1)}`;
    expect(await openSocket(`${home}bridge`, { origin: bridge.origin, cookie: wrong })).toEqual({ status: 403 });
    expect(await openSocket(`${home}bridge`, { origin: bridge.origin, cookie: 'stint-session=' })).toEqual({ status: 403 });
  });

  it('refuses the right cookie from a page of another origin (a web page driving Stint)', async () => {
    const { home, cookie } = await session();
    for (const origin of ['https://evil.example', 'http://localhost:' + port(), 'http://127.0.0.1:1', 'null']) {
      expect(await openSocket(`${home}bridge`, { origin, cookie })).toEqual({ status: 403 });
    }
  });

  it('refuses the right cookie without any Origin (a non-browser client that only stole the cookie)', async () => {
    const { home, cookie } = await session();
    expect(await openSocket(`${home}bridge`, { cookie })).toEqual({ status: 403 });
  });

  it("refuses one session's cookie on another session's path, and on other paths", async () => {
    const a = await session();
    const b = await session();
    expect(await openSocket(`${b.home}bridge`, { origin: bridge.origin, cookie: a.cookie })).toEqual({ status: 403 });
    expect(await openSocket('/bridge', { origin: bridge.origin, cookie: a.cookie })).toEqual({ status: 403 });
    expect(await openSocket(`${a.home}other`, { origin: bridge.origin, cookie: a.cookie })).toEqual({ status: 403 });
  });

  it('tells the page whether its session still holds', async () => {
    const { home, cookie } = await session();
    expect((await fetch(`${bridge.origin}${home}session`, { headers: { cookie } })).status).toBe(204);
    expect((await fetch(`${bridge.origin}${home}session`)).status).toBe(401);
  });
});

describe('the bridge socket, once open', () => {
  it('pushes the state first, then answers getState', async () => {
    const { ws, messages } = await openBridge();
    const first = BridgePush.parse(await nextMessage(messages, 0));
    expect(first.push).toBe('state');
    if (first.push === 'state') expect(first.state.serverUrl).toBe(core.getState().serverUrl);

    ws.send(JSON.stringify({ id: 1, method: 'getState', input: {} }));
    const reply = BridgeReply.parse(await nextMessage(messages, 1));
    expect(reply).toMatchObject({ id: 1, ok: true });
    expect(reply.ok && CoreState.safeParse(reply.result).success).toBe(true);
  });

  it('pushes state changes as they happen', async () => {
    const { messages } = await openBridge();
    await nextMessage(messages, 0);
    await core.updateSettings({ serverUrl: 'https://stint.example.com' });
    const push = BridgePush.parse(await nextMessage(messages, 1));
    expect(push).toMatchObject({ push: 'state', state: { serverUrl: 'https://stint.example.com' } });
  });

  it('has no `env`: the UI cannot read a credential', async () => {
    const { ws, messages } = await openBridge();
    await nextMessage(messages, 0);
    ws.send(JSON.stringify({ id: 2, method: 'env', input: {} }));
    const reply = await nextMessage(messages, 1);
    expect(reply).toMatchObject({ id: 2, ok: false, error: { code: 'unknown_call' } });
    expect(JSON.stringify(messages)).not.toContain(PASSWORD);
  });

  it('answers a malformed message with bad_request and stays open', async () => {
    const { ws, messages } = await openBridge();
    await nextMessage(messages, 0);
    ws.send('{not json');
    expect(await nextMessage(messages, 1)).toMatchObject({ id: 0, ok: false, error: { code: 'bad_request' } });
    ws.send(JSON.stringify({ id: 3, method: 'getSettings', input: {} }));
    expect(await nextMessage(messages, 2)).toMatchObject({ id: 3, ok: true });
  });
});
