/**
 * The hand-off of RP-initiated logout to the system browser without putting the ID token on a
 * command line. Opening the IdP's end-session URL directly would put `id_token_hint` in the argv
 * of the browser process that `xdg-open` starts, readable by every local user in /proc for as
 * long as that browser runs. Instead the browser is sent to a one-time address on 127.0.0.1
 * that redirects it (303) to the end-session URL: the token then travels only inside the
 * browser, as in any web app's sign-out. A POST to the IdP would keep it out of the browser's
 * history as well, but is no option: a cross-site POST carries no SameSite=Lax session cookie,
 * so the IdP would not know which session to end (oidc-provider v9 refuses POST there for that
 * reason). The address holds 128 random bits, answers once, and is gone after that or after
 * two minutes.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { listenOnLoopback, page, send } from './loopback';

export interface SignOutPage {
  /** http://127.0.0.1:PORT/sign-out/RANDOM: what may go on the browser's command line. */
  readonly url: string;
  /** Resolves when the listener closes: true if the browser came for the redirect. */
  readonly served: Promise<boolean>;
  close(): Promise<void>;
}

const LIFETIME_MS = 2 * 60_000;

export async function openSignOutPage(endSessionUrl: string, lifetimeMs = LIFETIME_MS): Promise<SignOutPage> {
  const path = `/sign-out/${randomBytes(16).toString('base64url')}`;
  let used = false;
  let report!: (served: boolean) => void;
  const served = new Promise<boolean>((resolve) => (report = resolve));

  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== path) return send(res, 404, page('Not found', ['There is nothing here.']));
    if (used) return send(res, 410, page('Already used', ['This sign-out address was already opened. Return to Stint.']));
    used = true;
    res.writeHead(303, { location: endSessionUrl, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', connection: 'close' });
    res.end(() => void close());
  });
  const port = await listenOnLoopback(server);
  // Neither the listener nor its timer keeps a process alive that is otherwise done.
  server.unref();
  const timer = setTimeout(() => void close(), lifetimeMs);
  timer.unref();
  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      clearTimeout(timer);
      report(used);
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  }
  return { url: `http://127.0.0.1:${port}${path}`, served, close };
}
