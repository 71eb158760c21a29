// Main-process hardening of every web contents and session, and the IPC gate in front of
// core. They take narrow, structural dependencies instead of Electron objects, so
// web-contents.test.ts drives them with plain objects; main.ts passes the real ones.
import { BridgeRequest, type BridgeError, type BridgeReply } from '@stint/contract';
import { CALL_CHANNEL } from './ipc-channels';
import { isAllowedExternalUrl, isAllowedSender } from './security';

type Reply = ReturnType<typeof BridgeReply.parse>;
type Dispatch = (method: string, input: unknown) => Promise<{ ok: true; result: unknown } | { ok: false; error: BridgeError }>;

interface Preventable {
  preventDefault(): void;
}

/** What hardenWebContents needs of a WebContents (Electron's own type satisfies it). */
export interface HardenableContents {
  on(event: 'will-navigate', listener: (event: Preventable, url: string) => void): unknown;
  on(event: 'will-redirect', listener: (event: Preventable, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: Preventable) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export interface ExternalOpener {
  /** Opens in the system browser; only called with URLs isAllowedExternalUrl accepted. */
  openExternal(url: string): void;
  /** The IdP's origin, allowed even on http (local development); null when unknown. */
  idpOrigin(): string | null;
  log?(message: string, url: string): void;
}

/**
 * Threat: content that got into a window (a bug, a hostile link in a reason) taking the window
 * somewhere else, where it would still hold the bridge. No navigation, no redirects, no
 * webviews, no new windows; a link meant for the browser goes there only if it is safe.
 */
export function hardenWebContents(contents: HardenableContents, external: ExternalOpener): void {
  contents.on('will-navigate', (event, url) => {
    event.preventDefault();
    external.log?.('navigation refused', url);
  });
  contents.on('will-redirect', (event, url) => {
    event.preventDefault();
    external.log?.('redirect refused', url);
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternalUrl(url, external.idpOrigin())) external.openExternal(url);
    else external.log?.('window.open refused', url);
    return { action: 'deny' };
  });
}

/** What hardenSession needs of a Session. */
export interface HardenableSession {
  setPermissionRequestHandler(handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(handler: (contents: unknown, permission: string) => boolean): void;
}

/**
 * Threat: the UI (or content injected into it) using camera, microphone, geolocation,
 * notifications from the page, clipboard reads and so on. The UI needs none of them;
 * notifications are shown by main, not the page.
 */
export function hardenSession(session: HardenableSession): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/** The part of an IpcMainInvokeEvent the gate reads. */
export interface CallEvent {
  senderFrame: { url: string; parent: unknown } | null;
}

const refuse = (id: number, code: string, message: string): Reply => ({ id, ok: false, error: { code, message } });

/** One refused IPC message: who sent it, on which channel, and why. Never the payload. */
export interface RefusedCall {
  channel: string;
  /** The sender frame's URL (origin and path only), or why there is none. */
  sender: string;
  mainFrame: boolean;
  code: string;
  /** The method it named, when it named a known-shaped one. */
  method?: string;
}

/** Refusals the dispatcher makes for the caller (not failures of a call that ran). */
const REFUSALS = new Set(['unknown_call', 'invalid_input']);

/** The frame's URL for a log line: no query or fragment, which may carry anything. */
function senderOf(frame: CallEvent['senderFrame']): string {
  if (!frame) return '(destroyed frame)';
  if (!URL.canParse(frame.url)) return '(unparsable url)';
  const url = new URL(frame.url);
  return `${url.protocol}//${url.host}${url.pathname}`.slice(0, 200);
}

/**
 * The gate for `stint:call`: the sender must be the app's own main frame and the payload a
 * BridgeRequest; then createDispatcher(core, 'bridge') checks method and input against the
 * contract (only the UI's calls exist there: no `env`, so no secret can be asked for). Every
 * refusal is logged with channel and sender (never the payload): silence would hide an attack.
 */
export function createCallHandler(dispatch: Dispatch, logRefusal: (refused: RefusedCall) => void = () => {}): (event: CallEvent, payload: unknown) => Promise<Reply> {
  return async (event, payload) => {
    const frame = event.senderFrame;
    const refused = (code: string, method?: string) =>
      logRefusal({ channel: CALL_CHANNEL, sender: senderOf(frame), mainFrame: frame?.parent === null, code, ...(method === undefined ? {} : { method: method.slice(0, 64) }) });
    // A frame that navigated away or was destroyed has no URL we can trust: refuse.
    if (!frame || !isAllowedSender(frame.url, frame.parent === null)) {
      refused('forbidden');
      return refuse(-1, 'forbidden', 'This window may not call Stint.');
    }
    const request = BridgeRequest.safeParse(payload);
    if (!request.success) {
      refused('invalid_request');
      return refuse(-1, 'invalid_request', 'The call was not a Stint bridge request.');
    }
    const reply = await dispatch(request.data.method, request.data.input);
    if (!reply.ok && REFUSALS.has(reply.error.code)) refused(reply.error.code, request.data.method);
    return reply.ok ? { id: request.data.id, ok: true, result: reply.result } : { id: request.data.id, ok: false, error: reply.error };
  };
}
