// Every security setting of the Electron shell in one file, as plain data, so security.test.ts
// fails on any regression. Each choice names the threat it answers.
import type { WebPreferences } from 'electron';
import { isLoopbackHostname } from '@stint/contract';
import { contentSecurityPolicy } from '@stint/core';

/** The app's own origin: the UI is served from here by protocol.handle, never from file:// or a remote URL. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'stint';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;
/** electron-builder.yml's appId; Windows ties notifications to it (security.test.ts checks they agree). */
export const APP_ID = 'dev.stint.app';

export function windowOptions(preloadPath: string, build: { packaged: boolean; env?: NodeJS.ProcessEnv } = { packaged: true }): { webPreferences: WebPreferences } {
  return {
    webPreferences: {
      preload: preloadPath,
      // Threat: a renderer compromised by a bug in the UI or Chromium. The OS sandbox limits
      // what its process can touch; context isolation keeps page scripts away from the
      // preload's objects (no prototype tampering with the bridge).
      sandbox: true,
      contextIsolation: true,
      // Threat: XSS becoming code execution. No Node in pages or their workers.
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      // Threat: cross-origin reads and mixed content injecting script into the UI.
      webSecurity: true,
      allowRunningInsecureContent: false,
      // Threat: <webview> embedding arbitrary content with its own preferences.
      webviewTag: false,
      // Threat: half-finished Blink features and WebSQL widening the attack surface.
      experimentalFeatures: false,
      enableWebSQL: false,
      // Threat: a dropped file or link navigating the window away from the app.
      navigateOnDragDrop: false,
      // Threat: a page spamming alert() to lock the person out of the UI.
      safeDialogs: true,
      // Spellcheck sends typed text (reasons may name incidents or customers) to a
      // dictionary service on some platforms; nothing here needs it.
      spellcheck: false,
      // Threat: anyone at the keyboard opening DevTools in a shipped app to call the bridge.
      // Only a development build may, and only when asked (STINT_DEVTOOLS=1).
      devTools: !build.packaged && (build.env ?? process.env).STINT_DEVTOOLS === '1',
    },
  };
}

/** Sent as a header with every app:// response: core's one policy for the UI, the bridge being IPC here. */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/**
 * IPC is answered only for the app's own main frame. Threat: a sub-frame or a page that got
 * into a window (through a bug) calling the bridge, e.g. to approve a request.
 */
export function isAllowedSender(frameUrl: string, isMainFrame: boolean): boolean {
  if (!isMainFrame) return false;
  let url: URL;
  try {
    url = new URL(frameUrl);
  } catch {
    return false;
  }
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST && !url.username && !url.password;
}

/**
 * What shell.openExternal may open. Threat: a link in the UI (say, in a reason an attacker
 * wrote) launching a local program through file:, javascript:, smb: or a custom scheme
 * handler. Only https anywhere, or the IdP's own origin (which may be http on localhost in
 * development); never credentials in the URL (https://bank.com@evil.example phishing).
 */
export function isAllowedExternalUrl(url: string, idpOrigin: string | null): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username || parsed.password) return false;
  if (parsed.protocol === 'https:') return true;
  if (idpOrigin === null) return false;
  let idp: URL;
  try {
    idp = new URL(idpOrigin);
  } catch {
    return false;
  }
  return (idp.protocol === 'https:' || idp.protocol === 'http:') && parsed.origin === idp.origin;
}

/**
 * What the sign-in opener may hand to the system browser. Threat: an authorization or
 * end-session address that launches a local program (file:, smb:, a custom scheme handler) or
 * sends the sign-in over plain http, and credentials hidden in a URL for phishing. https to
 * any host is allowed, since providers put their login pages on other hosts than their issuer
 * (Cognito, some Azure tenants); plain http only to the issuer's own origin when that issuer is
 * a development IdP on this machine's loopback, never to another loopback port, except the one
 * address core serves at sign-out (it carries the ID token to the IdP off the command line). (Which hosts
 * are the provider's is the approval server's to say: a hostile server could name any issuer,
 * so this check is about schemes and the loopback exception, and core's discovery checks
 * insist on https endpoints as well.)
 */
export function isAllowedSignInUrl(url: string, issuer: string | null, signOutAddress: string | null = null): boolean {
  // Core's own one-time sign-out address (http://127.0.0.1:PORT/sign-out/KEY), exactly.
  if (signOutAddress !== null && url === signOutAddress) return true;
  if (!URL.canParse(url)) return false;
  const target = new URL(url);
  if (target.username || target.password) return false;
  if (target.protocol === 'https:') return true;
  if (issuer === null || !URL.canParse(issuer)) return false;
  const idp = new URL(issuer);
  const loopbackHttp = idp.protocol === 'http:' && isLoopbackHostname(idp.hostname);
  return loopbackHttp && target.origin === idp.origin;
}

/**
 * Electron fuses, flipped in the packaged binary (electron-builder's `electronFuses`, see
 * electron-builder.yml; security.test.ts checks both agree). Each closes a way to run other
 * code with the app's identity (and its keychain access):
 */
export const FUSES = {
  /** ELECTRON_RUN_AS_NODE turns the signed app into a general Node interpreter. */
  runAsNode: false,
  /** NODE_OPTIONS=--require evil.js injects code into the main process. */
  enableNodeOptionsEnvironmentVariable: false,
  /** --inspect lets anyone who can start the app attach a debugger to main. */
  enableNodeCliInspectArguments: false,
  /** A modified app.asar (backdoored main.cjs) is refused at start. */
  enableEmbeddedAsarIntegrityValidation: true,
  /** Only the asar is loaded, so a loose app/ folder beside it cannot replace the code. */
  onlyLoadAppFromAsar: true,
  /** Cookies (the IdP session) are encrypted at rest with an OS-protected key. */
  enableCookieEncryption: true,
  /** One V8 snapshot for every process: a swapped browser snapshot is another code-injection path. */
  loadBrowserProcessSpecificV8Snapshot: false,
  /** file:// gets no extra privileges; the UI comes from app://. */
  grantFileProtocolExtraPrivileges: false,
} as const satisfies Record<string, boolean>;
