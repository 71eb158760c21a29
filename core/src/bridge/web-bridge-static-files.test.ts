// Web mode's static UI files, read the way a curious client or a hostile web page would (traversal, odd methods, broken requests).
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createDispatcher } from './dispatch';
import { serveWebBridge } from './web-bridge';
import { bridge, core, get, INDEX_HTML, OUTSIDE_SECRET, port, serveWebBridgeForEachTest, session } from './web-bridge.fixture';

serveWebBridgeForEachTest();


function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

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
