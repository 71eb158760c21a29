// The app window's hash routes: the ones Electron's main opens (tray entries, notification
// clicks, stint:// deep links) plus `#/access`, `#/history` and `#/insights` for the tabs. One format, here,
// so main and the renderer cannot drift apart.
// A hash is untrusted input (any link can carry one), so parseRoute validates everything and
// falls back to the home route rather than throw. A route only ever SHOWS something: the
// request form is prefilled, never submitted, and nothing is approved or released from a hash.
import { Id, SystemId } from './domain';
import { parseDuration } from './duration';

export interface RequestFormPrefill {
  systemId: string;
  /** null: the link named no duration; the form starts on the system's first preset. */
  durationSeconds: number | null;
  reason: string;
  /** A ticket to start with (a pinned request's), when the system asks for one. */
  ticket?: string;
}

export type Route =
  | { view: 'home' }
  | { view: 'tray' }
  | { view: 'reviews' }
  | { view: 'review'; requestId: string }
  | { view: 'access' }
  | { view: 'request'; requestId: string }
  | { view: 'grant'; grantId: string }
  | { view: 'history' }
  | { view: 'insights' }
  | { view: 'settings' }
  | { view: 'new-request'; prefill: RequestFormPrefill };

export const HOME: Route = { view: 'home' };

/** Longer hashes are refused outright (as electron/src/deep-link.ts does for links). */
export const MAX_HASH_LENGTH = 4096;
const MAX_REASON_LENGTH = 1000; // as RequestInput in contract/
const MAX_DURATION_SECONDS = 31 * 86_400; // RequestInput's bound; the server enforces each system's own maximum
const MAX_DURATION_TEXT = 20;
const REQUEST_PARAMS = new Set(['system', 'for', 'reason', 'ticket']);
const MAX_TICKET_LENGTH = 200;
// Control characters could hide text in the form or the approver's notification (tab and newline are fine).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/;

const SIMPLE: Record<string, Route> = {
  '/': HOME,
  '/tray': { view: 'tray' },
  '/reviews': { view: 'reviews' },
  '/access': { view: 'access' },
  '/history': { view: 'history' },
  '/insights': { view: 'insights' },
  '/settings': { view: 'settings' },
};

function decodeId(segment: string): string | null {
  let text: string;
  try {
    text = decodeURIComponent(segment);
  } catch {
    return null;
  }
  const id = Id.safeParse(text);
  return id.success ? id.data.toLowerCase() : null;
}

function parsePrefill(query: string): RequestFormPrefill | null {
  const params = new URLSearchParams(query);
  const seen = new Set<string>();
  for (const key of params.keys()) {
    // Unknown keys and repeated keys are refused: which value wins must not be left to luck.
    if (!REQUEST_PARAMS.has(key) || seen.has(key)) return null;
    seen.add(key);
  }
  const system = SystemId.safeParse(params.get('system'));
  if (!system.success) return null;

  let durationSeconds: number | null = null;
  const forText = params.get('for');
  if (forText !== null) {
    if (forText.length > MAX_DURATION_TEXT) return null;
    durationSeconds = parseDuration(forText);
    if (durationSeconds === null || durationSeconds > MAX_DURATION_SECONDS) return null;
  }

  const reason = params.get('reason') ?? '';
  // U+FFFD is what URLSearchParams makes of a malformed %-escape: refuse rather than guess.
  if (reason.length > MAX_REASON_LENGTH || CONTROL_CHARS.test(reason) || reason.includes('\uFFFD')) return null;
  const ticket = params.get('ticket');
  if (ticket !== null && (ticket.length === 0 || ticket.length > MAX_TICKET_LENGTH || /[\n\t]/.test(ticket) || CONTROL_CHARS.test(ticket) || ticket.includes('\uFFFD'))) return null;
  return { systemId: system.data, durationSeconds, reason, ...(ticket !== null ? { ticket } : {}) };
}

/** `#/reviews/<uuid>` etc. to a Route; anything unknown, malformed or hostile is the home route. */
export function parseRoute(hash: string): Route {
  if (typeof hash !== 'string' || hash.length > MAX_HASH_LENGTH) return HOME;
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  // Web mode's `#token=...` belongs to the bridge (bridge.ts takes it out of the address bar).
  if (text === '' || !text.startsWith('/')) return HOME;

  const mark = text.indexOf('?');
  const path = mark === -1 ? text : text.slice(0, mark);
  const query = mark === -1 ? null : text.slice(mark + 1);

  if (path === '/request') {
    const prefill = query === null ? null : parsePrefill(query);
    return prefill ? { view: 'new-request', prefill } : HOME;
  }
  if (query !== null) return HOME;

  const simple = Object.hasOwn(SIMPLE, path) ? SIMPLE[path] : undefined;
  if (simple) return simple;

  const match = /^\/(reviews|requests|grants)\/([^/]+)$/.exec(path);
  if (!match?.[1] || !match[2]) return HOME;
  const id = decodeId(match[2]);
  if (!id) return HOME;
  if (match[1] === 'reviews') return { view: 'review', requestId: id };
  if (match[1] === 'requests') return { view: 'request', requestId: id };
  return { view: 'grant', grantId: id };
}

/** The hash for a route; parseRoute(routeHash(r)) gives r back. */
export function routeHash(route: Route): string {
  switch (route.view) {
    case 'home':
      return '#/';
    case 'tray':
    case 'reviews':
    case 'access':
    case 'history':
    case 'insights':
    case 'settings':
      return `#/${route.view}`;
    case 'review':
      return `#/reviews/${encodeURIComponent(route.requestId)}`;
    case 'request':
      return `#/requests/${encodeURIComponent(route.requestId)}`;
    case 'grant':
      return `#/grants/${encodeURIComponent(route.grantId)}`;
    case 'new-request': {
      const query = new URLSearchParams({ system: route.prefill.systemId });
      if (route.prefill.durationSeconds !== null) query.set('for', `${route.prefill.durationSeconds}s`);
      if (route.prefill.reason) query.set('reason', route.prefill.reason);
      if (route.prefill.ticket) query.set('ticket', route.prefill.ticket);
      return `#/request?${query.toString()}`;
    }
  }
}

