// The composition root: the one place that picks the real platform (OS keychain, settings file,
// system browser, ssh-agent, pino) and starts core with its local socket and, on request, web
// mode. The Electron app and `stint agent` both start here; tests hand core their own parts.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { serveSocket } from './bridge/socket-server';
import { createDispatcher } from './bridge/dispatch';
import { LINK_TTL_MS, serveWebBridge, type WebBridge } from './bridge/web-bridge';
import { StintCore } from './core';
import type { BrowserOpener } from './auth/oidc';
import type { CoreLog, CorePlatform, Notifier } from './platform';
import { runtimePaths, type RuntimePaths } from './runtime/paths';
import { ConfStore } from './settings/store';
import { sshAgentFromEnv } from './ssh/agent';
import { KeyringSecretStore } from './vault/secret-store';

/** Where settings (never secrets) live: STINT_DATA_DIR, else the platform's config folder. */
export function dataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.STINT_DATA_DIR) return env.STINT_DATA_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Stint');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Stint');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'stint');
}

/** Hands one address to the platform's opener (or STINT_BROWSER) as one argv entry, no shell. */
function launch(url: string, failed: () => void): void {
  // STINT_BROWSER picks a browser command (words split on spaces; the URL is appended).
  const custom = process.env.STINT_BROWSER?.trim().split(/\s+/);
  const [command, args] = custom?.[0]
    ? [custom[0], [...custom.slice(1), url]]
    : process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', failed);
  child.unref();
}

/**
 * Opens the system browser for sign-in. Only http(s) URLs are handed over, so a hostile URL
 * cannot become a command.
 */
export const systemBrowser: BrowserOpener = {
  async open(url) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`Refusing to open a ${parsed.protocol} URL.`);
    launch(url, () => console.error(`Open this address in your browser to sign in to Stint:\n  ${url}`));
  },
};

/**
 * Opens the web-mode UI. Threat: a browser's command line is readable by every local user
 * (`ps`, /proc), and a one-time code read there could be raced for. So the browser is handed a
 * file in the user's own runtime folder (0600) that forwards to the one-time address; the
 * code never reaches a command line. The file is removed once the code has expired.
 */
export function openWebUi(web: WebBridge, paths: RuntimePaths): string {
  const url = web.link();
  const page = join(paths.dir, `open-${randomBytes(8).toString('hex')}.html`);
  writeFileSync(page, launcherPage(url), { mode: 0o600 });
  setTimeout(() => rmSync(page, { force: true }), LINK_TTL_MS).unref();
  launch(pathToFileURL(page).href, () => console.error('Could not start a browser; run `stint ui --print` and open the address it prints.'));
  return url;
}

const launcherPage = (url: string) =>
  `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=${url}"><title>Opening Stint</title><p>Opening Stint...</p>\n`;

export interface HostOptions {
  opener?: BrowserOpener;
  notifier?: Notifier;
  log?: CoreLog;
  paths?: RuntimePaths;
  dataDir?: string;
  keychainService?: string;
  /** Serve the UI over a local WebSocket (web mode) on this port (0 = any). */
  web?: { port?: number; rendererDir?: string | null } | null;
  platform?: Partial<CorePlatform>;
}

export interface Host {
  core: StintCore;
  paths: RuntimePaths;
  web: WebBridge | null;
  close(): Promise<void>;
}

/** Core with the real platform: keychain, settings file, local socket (and web mode on request). */
export async function startHost(options: HostOptions = {}): Promise<Host> {
  const paths = options.paths ?? runtimePaths();
  const log = options.log ?? pino({ level: process.env.STINT_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const core = new StintCore({
    opener: options.opener ?? systemBrowser,
    notifier: options.notifier,
    secrets: new KeyringSecretStore({ service: options.keychainService ?? process.env.STINT_KEYCHAIN_SERVICE ?? 'stint' }),
    store: new ConfStore({ cwd: options.dataDir ?? dataDir() }),
    paths,
    log,
    sshAgent: sshAgentFromEnv(),
    ...options.platform,
  });
  // STINT_SERVER_URL points a fresh install (or a test) at a server without the settings UI.
  if (process.env.STINT_SERVER_URL && core.getSettings().serverUrl !== process.env.STINT_SERVER_URL) await core.updateSettings({ serverUrl: process.env.STINT_SERVER_URL });
  await core.start();
  const web = options.web ? await serveWebBridge(core, createDispatcher(core, 'bridge'), { ...options.web, log }) : null;
  const hostCalls = web ? { webLink: async (open: boolean) => (open ? openWebUi(web, paths) : web.link()) } : {};
  const socket = await serveSocket(paths.socket, createDispatcher(core, 'socket', hostCalls), log);
  return {
    core,
    paths,
    web,
    async close() {
      await web?.close();
      await socket.close();
      await core.stop();
    },
  };
}
