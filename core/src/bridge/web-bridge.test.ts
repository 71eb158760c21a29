// Web mode: the UI in an ordinary browser talks to core over a WebSocket on 127.0.0.1. The
// threats are another local user and any web page open in the same browser, so these tests
// knock on the socket the way they would (no token, a guessed token, a foreign Origin) and
// read the static files the way a curious client would (traversal, odd methods).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgePush, BridgeReply, CoreState } from '@stint/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { StintCore } from '../core';
import { createDispatcher } from './dispatch';
import { offlineCoreWithGrant, PASSWORD } from './offline-core.fixture';
import { LINK_TTL_MS, serveWebBridge, type WebBridge } from './web-bridge';

const INDEX_HTML = '<!doctype html><title>Stint</title><script type="module" src="/app.js"></script>';
const OUTSIDE_SECRET = 'outside-the-renderer-folder-Zq8';

let dir: string;
let rendererDir: string;
let core: StintCore;
let bridge: WebBridge;
const sockets: WebSocket[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stint-web-'));
  rendererDir = join(dir, 'renderer');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), INDEX_HTML);
  writeFileSync(join(rendererDir, 'app.js'), 'export {};\n');
  writeFileSync(join(rendererDir, 'assets', 'app.css'), 'body{}\n');
  // A sibling whose name starts with the renderer folder's: a plain prefix check would let it out.
  mkdirSync(join(dir, 'renderer-private'));
  writeFileSync(join(dir, 'renderer-private', 'secret.txt'), OUTSIDE_SECRET);
  writeFileSync(join(dir, 'secret.txt'), OUTSIDE_SECRET);

  core = await offlineCoreWithGrant(dir);
  bridge = await serveWebBridge(core, createDispatcher(core, 'bridge'), { rendererDir });
});

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await bridge.close();
  await core.stop();
  rmSync(dir, { recursive: true, force: true });
});

const port = () => Number(new URL(bridge.origin).port);

/** Opens a WebSocket; resolves with the open socket or the HTTP status the upgrade got instead. */
function openSocket(path: string, headers: { origin?: string; cookie?: string; host?: string } = { origin: bridge.origin }): Promise<{ ws: WebSocket; messages: unknown[] } | { status: number }> {
  return new Promise((resolve, reject) => {
    const extra: Record<string, string> = {};
    if (headers.cookie) extra.cookie = headers.cookie;
    if (headers.host) extra.host = headers.host;
    const ws = new WebSocket(`ws://127.0.0.1:${port()}${path}`, { ...(headers.origin === undefined ? {} : { origin: headers.origin }), headers: extra });
    sockets.push(ws);
    const messages: unknown[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('error', reject);
  });
}

const codeOf = (link: string) => new URL(link).hash.replace(/^#code=/, '');

/** POST /session the way the page does (or an attacker does, with other headers). */
async function trade(code: string, headers: Record<string, string> = { origin: bridge.origin, 'content-type': 'application/json' }) {
  const response = await fetch(`${bridge.origin}/session`, { method: 'POST', headers, body: JSON.stringify({ code }) });
  return { status: response.status, body: (await response.json()) as { home?: string; error?: string; message?: string }, cookie: response.headers.get('set-cookie') };
}

/** A session as the real page gets one: its home path and the cookie to send. */
async function session(): Promise<{ home: string; cookie: string; setCookie: string }> {
  const traded = await trade(codeOf(bridge.link()));
  if (traded.status !== 200 || !traded.body.home || !traded.cookie) throw new Error(`no session: ${traded.status} ${JSON.stringify(traded.body)}`);
  return { home: traded.body.home, cookie: traded.cookie.split(';')[0]!, setCookie: traded.cookie };
}

async function openBridge(): Promise<{ ws: WebSocket; messages: unknown[] }> {
  const { home, cookie } = await session();
  const opened = await openSocket(`${home}bridge`, { origin: bridge.origin, cookie });
  if ('status' in opened) throw new Error(`upgrade refused with ${opened.status}`);
  return opened;
}

async function nextMessage(messages: unknown[], index: number, ms = 5000): Promise<unknown> {
  const deadline = Date.now() + ms;
  while (messages.length <= index) {
    if (Date.now() > deadline) throw new Error(`no message #${index} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return messages[index];
}

/** A raw HTTP request: the path goes out exactly as written (no client-side `..` clean-up). */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: port(), path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

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

describe('the static UI files', () => {
  it('serves index.html with a strict Content-Security-Policy and nosniff', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.body).toBe(INDEX_HTML);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');

    const csp = String(res.headers['content-security-policy']);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toContain('*');
    const policy = directives(csp);
    expect(policy.get('default-src')).toEqual(["'self'"]);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('connect-src')).toEqual(["'self'", `ws://127.0.0.1:${port()}`]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('object-src')).toEqual(["'none'"]);
  });

  it('serves the same files under a session’s path, where the app lives', async () => {
    const { home } = await session();
    expect((await get(home)).body).toBe(INDEX_HTML);
    expect((await get(`${home}assets/app.css`)).status).toBe(200);
    expect((await get(`${home}..%2f..%2fsecret.txt`)).status).toBe(404);
  });

  it('serves the other files with their types and the same headers', async () => {
    const js = await get('/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const css = await get('/assets/app.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('/missing.js')).status).toBe(404);
    expect((await get('/assets')).status).toBe(404);
  });

  it.each([
    '/../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/..%2fsecret.txt',
    '/..%2frenderer-private%2fsecret.txt',
    '/assets/..%2f..%2fsecret.txt',
  ])('never serves a file outside the renderer folder: %s', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('root:');
    expect(res.body).not.toContain(OUTSIDE_SECRET);
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('refuses %s with 405', async (method) => {
    const res = await get('/', method);
    expect(res.status).toBe(405);
    expect(res.body).not.toContain(INDEX_HTML);
  });

  it('says the UI is not built when there is no renderer folder', async () => {
    const bare = await serveWebBridge(core, createDispatcher(core, 'bridge'), { rendererDir: null });
    try {
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        httpRequest(`${bare.origin}/`, (r) => {
          let body = '';
          r.on('data', (chunk: Buffer) => (body += String(chunk)));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        })
          .on('error', reject)
          .end();
      });
      expect(res.status).toBe(404);
      expect(res.body).toMatch(/not built/);
    } finally {
      await bare.close();
    }
  });
});

describe('hostile requests from a web page', () => {
  function raw(head: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect(Number(new URL(bridge.origin).port), '127.0.0.1', () => socket.write(head));
      const timer = setTimeout(() => (socket.destroy(), resolve('no answer')), 2000);
      socket.once('data', (d) => (clearTimeout(timer), socket.destroy(), resolve(String(d).split('\r\n')[0]!)));
      socket.once('error', () => (clearTimeout(timer), resolve('no answer')));
    });
  }
  const ok = () =>
    new Promise<number>((resolve) =>
      httpRequest(`${bridge.origin}/`, (r) => (r.resume(), resolve(r.statusCode ?? 0)))
        .on('error', () => resolve(0))
        .end(),
    );

  it.each(['/%E0%A4%A', '/%', '//'])('a request for %s gets a 4xx and Stint keeps running', async (path) => {
    expect(await raw(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).toMatch(/^HTTP\/1\.1 4\d\d/);
    expect(await ok()).toBe(200);
  });

  it('a WebSocket upgrade to "//" is refused and Stint keeps running', async () => {
    expect(
      await raw(`GET // HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: ${bridge.origin}\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 4\d\d/);
    expect(await ok()).toBe(200);
  });
});
