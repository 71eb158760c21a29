import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { BridgeRequest } from '@stint/contract';
import { WebSocketServer, type WebSocket } from 'ws';
import type { StintCore } from '../core';
import { silentLog, type CoreLog } from '../platform';
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

/**
 * The UI's one Content Security Policy, for the Electron window (app://, where the bridge is
 * IPC: `connect-src 'self'`) and for web mode (`websocket`: the bridge's ws:// origin). Threat:
 * injected markup running script or sending data away; only the app's own files may load.
 */
export function contentSecurityPolicy(websocket?: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${websocket ? ` ${websocket.replace(/^http/, 'ws')}` : ''}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** How long a one-time link may be exchanged for a session. */
export const LINK_TTL_MS = 30_000;
const COOKIE = 'stint-session';
const MAX_SESSIONS = 32;
/** `/s/<session id>/...`: the app's pages live under their session's own path. */
const SESSION_PATH = /^\/s\/([A-Za-z0-9_-]{22})(\/.*)$/;

export interface WebBridge {
  origin: string;
  /**
   * A fresh one-time address for a browser: `<origin>/#code=...`. The page trades the code,
   * once and within LINK_TTL_MS, for a session cookie; the code is useless afterwards.
   */
  link(): string;
  close(): Promise<void>;
}

interface Session {
  secret: Buffer;
  createdAt: number;
}

/**
 * Web mode: the renderer in an ordinary browser, talking to core over a WebSocket on
 * 127.0.0.1. Threats: another local user, and any web page in the same browser, driving Stint.
 *
 * - The address that is opened or printed carries only a one-time code, not a standing token:
 *   a browser's command line is readable by every local user (`ps`), so what it shows must be
 *   spent within seconds. The page trades it (POST /session, its own Origin, JSON) for a
 *   session held in an HttpOnly, SameSite=Strict cookie; a code works once, even when the first
 *   attempt fails, and a second attempt is logged (someone else may have raced for it).
 * - The cookie's Path is the session's own random path (/s/<id>/), where the app lives:
 *   cookies do not separate ports, so a page on another 127.0.0.1 port (another user's server)
 *   never receives it unless it also knows that path.
 * - The socket needs that cookie, this server's Origin and the session's path; the Host must be
 *   this address (no DNS rebinding). The UI surface has no call that returns a secret.
 */
export async function serveWebBridge(
  core: StintCore,
  dispatch: Dispatch,
  options: { port?: number; rendererDir?: string | null; log?: CoreLog; now?: () => number },
): Promise<WebBridge> {
  const now = options.now ?? Date.now;
  const log = options.log ?? silentLog;
  const codes = new Map<string, number>(); // code -> expires at
  const spent = new Map<string, number>(); // code -> when it was spent (to tell a replay from a guess)
  const sessions = new Map<string, Session>();
  let origin = '';
  let host = '';

  const http = createServer((req, res) => {
    if (req.headers.host !== host) return void res.writeHead(421, SECURITY_HEADERS).end('Misdirected request');
    const url = requestUrl(req, origin);
    if (url?.pathname === '/session' && req.method === 'POST') return void exchange(req, res);
    const inSession = url ? SESSION_PATH.exec(url.pathname) : null;
    if (inSession?.[2] === '/session' && req.method === 'GET') {
      // The page asks whether its session still holds (after a restart of Stint it does not).
      return void res.writeHead(sessionOf(req, inSession[1]!) ? 204 : 401, { ...SECURITY_HEADERS, 'cache-control': 'no-store' }).end();
    }
    serveStatic(req, res, options.rendererDir ?? null, origin, inSession?.[2]);
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  http.on('upgrade', (req, socket, head) => {
    const url = requestUrl(req, origin);
    const inSession = url ? SESSION_PATH.exec(url.pathname) : null;
    const allowed = req.headers.host === host && req.headers.origin === origin && inSession?.[2] === '/bridge' && sessionOf(req, inSession[1]!);
    if (!allowed) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  function sessionOf(req: IncomingMessage, id: string): boolean {
    const session = sessions.get(id);
    if (!session) return false;
    return cookieValues(req.headers.cookie, COOKIE).some((value) => {
      const given = Buffer.from(value);
      return given.length === session.secret.length && timingSafeEqual(given, session.secret);
    });
  }

  function exchange(req: IncomingMessage, res: ServerResponse) {
    const reply = (status: number, body: object, extra: Record<string, string> = {}) =>
      res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json', 'cache-control': 'no-store', ...extra }).end(JSON.stringify(body));
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 1024) req.destroy();
    });
    req.on('end', () => {
      let code: string | null = null;
      try {
        const parsed = JSON.parse(body) as unknown;
        if (parsed && typeof parsed === 'object' && typeof (parsed as { code?: unknown }).code === 'string') code = (parsed as { code: string }).code;
      } catch {
        code = null;
      }
      if (!code) return reply(400, { error: 'bad_request', message: 'Send {"code": "..."} as JSON.' });
      const expiresAt = codes.get(code);
      // Spent on first sight, whatever happens next: a code never works twice.
      codes.delete(code);
      if (expiresAt !== undefined) spent.set(code, now());
      if (req.headers.origin !== origin || !/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
        log.warn({ origin: req.headers.origin ?? null }, 'web mode: a sign-in link was presented from another origin; it is spent');
        return reply(403, { error: 'forbidden', message: 'This link can only be opened by Stint\'s own page.' });
      }
      if (expiresAt === undefined) {
        if (spent.has(code)) log.warn({}, 'web mode: a sign-in link was used a second time; if you opened it only once, someone else on this computer may have tried it');
        return reply(403, { error: 'link_used', message: 'This link was already used or is not valid. Run `stint ui` for a fresh one.' });
      }
      if (now() > expiresAt) return reply(410, { error: 'link_expired', message: `This link expired (a link works once, within ${LINK_TTL_MS / 1000} s). Run \`stint ui\` for a fresh one.` });
      const id = randomBytes(16).toString('base64url');
      const secret = randomBytes(32).toString('base64url');
      sessions.set(id, { secret: Buffer.from(secret), createdAt: now() });
      while (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      const home = `/s/${id}/`;
      reply(200, { home }, { 'set-cookie': `${COOKIE}=${secret}; Path=${home}; HttpOnly; SameSite=Strict` });
    });
  }

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
  host = `127.0.0.1:${port}`;
  origin = `http://${host}`;
  return {
    origin,
    link() {
      for (const [code, expiresAt] of codes) if (now() > expiresAt) codes.delete(code);
      for (const [code, at] of spent) if (now() - at > 10 * LINK_TTL_MS) spent.delete(code);
      const code = randomBytes(32).toString('base64url');
      codes.set(code, now() + LINK_TTL_MS);
      return `${origin}/#code=${code}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/** Every value of the named cookie in a Cookie header (several paths may send one each). */
function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${name}=`))
    .map((part) => part.slice(name.length + 1));
}

/** A request's URL, or null when it cannot be parsed: a hostile page must not crash core. */
function requestUrl(req: IncomingMessage, origin: string): URL | null {
  try {
    return new URL(req.url ?? '/', origin);
  } catch {
    return null;
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The UI's files, at `/` and under a session's path (`sessionPath` is what follows `/s/<id>`). */
function serveStatic(req: IncomingMessage, res: ServerResponse, root: string | null, origin: string, sessionPath: string | undefined) {
  const headers = { ...SECURITY_HEADERS, 'content-security-policy': contentSecurityPolicy(origin) };
  if (!root || req.method !== 'GET') {
    res.writeHead(root ? 405 : 404, headers).end(root ? 'Method not allowed' : 'The Stint UI is not built; run `npm run build`.');
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(sessionPath ?? requestUrl(req, origin)?.pathname ?? '');
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
