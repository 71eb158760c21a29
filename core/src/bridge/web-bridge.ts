import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { BridgeRequest } from '@stint/contract';
import { WebSocketServer, type WebSocket } from 'ws';
import type { StintCore } from '../core';
import type { Dispatch } from './dispatch';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The same strict policy as the Electron window: own scripts only, and the bridge socket. */
export function contentSecurityPolicy(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}

export interface WebBridge {
  /** Open this in a browser: it carries the per-launch token in the fragment (never sent to a server log). */
  url: string;
  origin: string;
  token: string;
  close(): Promise<void>;
}

/**
 * Web mode: the renderer in an ordinary browser, talking to core over a WebSocket on
 * 127.0.0.1. Threats: another local user or a web page in the same browser driving Stint. So
 * the socket needs a random per-launch token (compared in constant time) and the page's Origin
 * must be this server's own origin; the UI surface has no call that returns a secret.
 */
export async function serveWebBridge(core: StintCore, dispatch: Dispatch, options: { port?: number; rendererDir?: string | null }): Promise<WebBridge> {
  const token = randomBytes(32).toString('base64url');
  let origin = '';
  const http = createServer((req, res) => serveStatic(req, res, options.rendererDir ?? null, origin));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  http.on('upgrade', (req, socket, head) => {
    const url = requestUrl(req, origin);
    if (!url) {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      return;
    }
    const given = Buffer.from(url.searchParams.get('token') ?? '');
    const expected = Buffer.from(token);
    const tokenOk = given.length === expected.length && timingSafeEqual(given, expected);
    if (url.pathname !== '/bridge' || req.headers.origin !== origin || !tokenOk) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  function attach(ws: WebSocket) {
    const send = (message: unknown) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(message));
    const offState = core.subscribe((state) => send({ push: 'state', state }));
    const offNotice = core.onNotice((notice) => send({ push: 'notice', notice }));
    send({ push: 'state', state: core.getState() });
    ws.on('message', async (data) => {
      let request;
      try {
        request = BridgeRequest.parse(JSON.parse(String(data)));
      } catch {
        send({ id: 0, ok: false, error: { code: 'bad_request', message: 'Malformed bridge message.' } });
        return;
      }
      send({ id: request.id, ...(await dispatch(request.method, request.input)) });
    });
    ws.on('close', () => {
      offState();
      offNotice();
    });
  }

  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/#token=${token}`,
    origin,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/** A request's URL, or null when it cannot be parsed: a hostile page must not crash core. */
function requestUrl(req: IncomingMessage, origin: string): URL | null {
  try {
    return new URL(req.url ?? '/', origin);
  } catch {
    return null;
  }
}

function serveStatic(req: IncomingMessage, res: ServerResponse, root: string | null, origin: string) {
  const headers = {
    'content-security-policy': contentSecurityPolicy(origin),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  };
  if (!root || req.method !== 'GET') {
    res.writeHead(root ? 405 : 404, headers).end(root ? 'Method not allowed' : 'The Stint UI is not built; run `npm run build`.');
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(requestUrl(req, origin)?.pathname ?? '');
  } catch {
    path = '';
  }
  if (!path) {
    res.writeHead(400, headers).end('Bad request');
    return;
  }
  const file = normalize(join(root, path === '/' ? 'index.html' : path));
  // Path traversal: never serve outside the renderer folder.
  if (!file.startsWith(root.endsWith(sep) ? root : root + sep) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, headers).end('Not found');
    return;
  }
  res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}
