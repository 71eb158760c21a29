import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { visibleText, type Notice } from '@stint/contract';
import { LINK_TTL_MS, openWebUi, startHost } from '@stint/core';

/**
 * A headless agent has no desktop to notify, so each notice becomes one line on stderr (the
 * agent's log): which kind, which system, which request or grant. Never a credential: a
 * notice carries only metadata (contract's Notice). A name from the IdP or the server's words
 * could hold terminal escapes, so the line shows them as visible escapes.
 */
export function noticeLine(notice: Notice): string {
  return visibleText(noticeWords(notice));
}

function noticeWords(notice: Notice): string {
  switch (notice.kind) {
    case 'review-requested':
    case 'request-approved':
    case 'request-denied':
    case 'request-expired':
      return `notice ${notice.kind}: ${notice.request.systemId} request ${notice.request.id} by ${notice.request.requester.sub}`;
    case 'grant-active':
      return `notice ${notice.kind}: ${notice.grant.systemId} grant ${notice.grant.grantId} until ${notice.grant.expiresAt}`;
    case 'grant-waiting':
      return `notice ${notice.kind}: ${notice.grant.systemId} grant ${notice.grant.grantId} ${notice.grant.startAt ? `starts at ${notice.grant.startAt}` : `waits for you (start: stint start ${notice.grant.systemId}) until ${notice.grant.startBy ?? '?'}`}`;
    case 'grant-unstarted':
      return `notice ${notice.kind}: ${notice.systemId} grant ${notice.grantId} was not started in time; nothing was issued`;
    case 'grant-reminder':
      return `notice ${notice.kind}: ${notice.grant.systemId} grant ${notice.grant.grantId} ends in ${notice.secondsLeft}s${notice.canExtend ? ' (extend: stint extend ' + notice.grant.systemId + ')' : ''}`;
    case 'grant-wiped':
      return `notice ${notice.kind}: ${notice.systemId} grant ${notice.grantId} (${notice.reason}); removed ${notice.wiped.join(', ') || 'nothing'}`;
    case 'error':
      return `notice error: ${notice.message}`;
  }
}

/** The built UI: STINT_RENDERER_DIR, else this checkout's renderer/dist once `npm run build` made it. */
export function defaultRendererDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.STINT_RENDERER_DIR) return resolve(env.STINT_RENDERER_DIR);
  const built = resolve(dirname(fileURLToPath(import.meta.url)), '../../../renderer/dist');
  return existsSync(resolve(built, 'index.html')) ? built : null;
}

/**
 * `stint agent`: core without Electron. It serves the local socket the CLI and shell hooks use,
 * and with --web the same UI as the app in a browser. It wipes overdue credentials before
 * anything else (core's start-up) and runs until stopped.
 */
export async function runAgent(options: { web: boolean; open?: boolean; port: number; rendererDir?: string | null }): Promise<void> {
  const host = await startHost({ notifier: { notify: (notice) => console.error(noticeLine(notice)) }, web: options.web ? { port: options.port, rendererDir: options.rendererDir ?? defaultRendererDir() } : null });
  const state = host.core.getState();
  console.error(`Stint agent running (socket ${host.paths.socket}); ${state.auth.status === 'signed-in' ? `signed in as ${state.auth.user?.sub}` : 'run `stint login` to sign in'}.`);
  if (host.web) {
    // A one-time address: it works once, within seconds, so printing it here is safe; `stint ui` makes another.
    const url = options.open ? openWebUi(host.web, host.paths) : host.web.link();
    console.log(`Open Stint in your browser: ${url}`);
    console.log(`(The address works once, within ${LINK_TTL_MS / 1000} s. For a fresh one: stint ui)`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await host.close();
}
