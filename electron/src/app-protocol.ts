// What `app://stint/<path>` serves: files of renderer/dist only. Pure, so the traversal
// checks are tested without Electron; main.ts reads the file and adds the headers.
import { extname, resolve, sep } from 'node:path';
import { APP_HOST, APP_SCHEME, CONTENT_SECURITY_POLICY } from './security';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export type AppFile = { ok: true; path: string; headers: Record<string, string> } | { ok: false; status: 400 | 403 | 404 };

/**
 * Threat: a request for app://stint/..%2F..%2F.ssh/id_ed25519 (or any other host) reading
 * files outside the renderer's build. The decoded path must stay inside rendererDir, and
 * only known file types are served (no directory listings, no dotfiles).
 */
export function resolveAppFile(rendererDir: string, requestUrl: string): AppFile {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { ok: false, status: 400 };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { ok: false, status: 403 };
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, status: 400 };
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return { ok: false, status: 400 };
  const root = resolve(rendererDir);
  const relative = pathname === '/' || pathname === '' ? 'index.html' : pathname.replace(/^\/+/, '');
  const path = resolve(root, relative);
  if (!path.startsWith(root + sep)) return { ok: false, status: 403 };
  if (path.slice(root.length + 1).split(sep).some((part) => part.startsWith('.'))) return { ok: false, status: 403 };
  const type = TYPES[extname(path).toLowerCase()];
  if (!type) return { ok: false, status: 404 };
  return {
    ok: true,
    path,
    headers: {
      'Content-Type': type,
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      // Threat: a file served under a guessed type running as script.
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    },
  };
}
