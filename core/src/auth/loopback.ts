/**
 * The loopback redirect listener of a native app's sign-in (RFC 8252 §7.3): an http server on
 * 127.0.0.1 with an ephemeral port that takes exactly one authorization response and is gone.
 *
 * It lives for one sign-in only. Every way out (response handled, timeout, cancel) ends in
 * `finish`, which answers the waiting browser tab and stops listening, so a later request to
 * the same URL is refused by the operating system rather than by our code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The path the IdP redirects to; the IdP registers http://127.0.0.1/callback with any port. */
export const CALLBACK_PATH = '/callback';

export type CallbackOutcome = { ok: true } | { ok: false; reason: string };

export interface LoopbackRedirect {
  /** http://127.0.0.1:PORT/callback, exactly what goes into the authorization request. */
  readonly redirectUri: string;
  readonly port: number;
  /**
   * The first GET /callback as an absolute URL: redirectUri plus the request's query string.
   * Built from redirectUri, never from the Host header, so the code is redeemed for exactly the
   * redirect URI we registered. Never settles when the listener finishes without a callback.
   */
  readonly received: Promise<URL>;
  /**
   * Answers the browser tab waiting on the callback (when there is one), stops listening and
   * drops every connection. Idempotent; resolves once the port is closed.
   */
  finish(outcome: CallbackOutcome): Promise<void>;
}

/** No port of the fixed list was free: another program holds each of them. */
export class LoopbackPortsBusy extends Error {
  constructor(readonly ports: readonly number[]) {
    super(`the sign-in ports ${ports.join(', ')} on 127.0.0.1 are all in use by other programs`);
  }
}

/**
 * Starts listening on 127.0.0.1: on the first free port of `ports` (an IdP that matches
 * redirect URIs exactly has each registered), or on a port the OS picks when there is no list.
 */
export async function openLoopbackRedirect(options: { ports?: readonly number[] } = {}): Promise<LoopbackRedirect> {
  let deliver!: (url: URL) => void;
  const received = new Promise<URL>((resolve) => {
    deliver = resolve;
  });
  let redirectUri = '';
  let waiting: ServerResponse | undefined;
  let consumed = false;
  let finishing: Promise<void> | undefined;

  const server = createServer((req, res) => {
    const path = pathAndQuery(req);
    if (!path || path.pathname !== CALLBACK_PATH) return send(res, 404, page('Not found', ['There is nothing here.']));
    if (req.method !== 'GET') return send(res, 405, page('Not allowed', ['This address only takes the sign-in redirect.']));
    // One authorization response per sign-in (RFC 9700 §4.2.4 / code replay): a second request
    // can only arrive on a connection that was open before we stopped listening.
    if (consumed || finishing) return send(res, 410, page('Already used', ['This sign-in link was already used. Return to Stint.']));
    consumed = true;
    waiting = res;
    // Stop accepting connections at once, before the (slower) token exchange runs.
    server.close();
    deliver(new URL(`${redirectUri}${path.search}`));
  });
  const port = await listenOnFirstFree(server, options.ports ?? []);
  redirectUri = `http://127.0.0.1:${port}${CALLBACK_PATH}`;
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));

  function finish(outcome: CallbackOutcome): Promise<void> {
    finishing ??= (async () => {
      if (server.listening) server.close();
      const res = waiting;
      waiting = undefined;
      if (res && !res.headersSent) {
        const html = outcome.ok
          ? page('Signed in to Stint', ['You are signed in to Stint. You can close this tab and return to Stint.'])
          : page('Stint could not sign you in', [outcome.reason, 'Return to Stint and sign in again.']);
        await new Promise<void>((resolve) => send(res, outcome.ok ? 200 : 400, html, resolve));
      }
      // Keep-alive and preconnected sockets would otherwise hold the server open after close().
      server.closeAllConnections();
      await closed;
    })();
    return finishing;
  }

  return { redirectUri, port, received, finish };
}

async function listenOnFirstFree(server: Server, ports: readonly number[]): Promise<number> {
  if (ports.length === 0) return listenOnLoopback(server);
  for (const port of ports) {
    try {
      return await listenOnLoopback(server, port);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  throw new LoopbackPortsBusy(ports);
}

/** Listens on 127.0.0.1 (on `port`, or one the OS picks), for a browser that may never finish a request. */
export async function listenOnLoopback(server: Server, port = 0): Promise<number> {
  // A browser tab that never finishes its request must not keep the port open for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // 127.0.0.1, not localhost (RFC 8252 §8.3): "localhost" may resolve to another interface or
    // to ::1 while the browser tries the other, and an IP literal cannot be re-pointed by DNS.
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function pathAndQuery(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://127.0.0.1');
  } catch {
    return undefined;
  }
}

/**
 * Defence in depth against XSS on this origin (other loopback apps share "127.0.0.1"): no
 * script, no remote resource, no form, no framing, even if an escape were ever missed.
 */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

export function send(res: ServerResponse, status: number, html: string, done?: () => void, csp = PAGE_CSP): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // The URL holds the authorization code (or the sign-out page's key): keep it out of caches
    // and of any Referer.
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    connection: 'close',
  });
  res.end(html, done);
}

/**
 * A self-contained page; every text goes through escapeHtml because `reason` may quote the IdP.
 * `markup` is HTML the caller built from escaped parts (the sign-out page's form).
 */
export function page(title: string, paragraphs: readonly string[], markup = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('')}${markup}</body></html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
