// `stint://request?system=prod-db&for=30m&reason=...` links (from a runbook, a chat message, a
// ticket). Any web page can fire such a link at the app, so a link is untrusted input: it is
// validated here and only ever PREFILLS the request form. It never submits a request, never
// approves anything, and never opens a window on another origin.
import { parseDuration, SystemId } from '@stint/contract';

export interface RequestLink {
  kind: 'request';
  systemId: string;
  /** null: the link named no duration; the form offers the system's presets. */
  durationSeconds: number | null;
  reason: string;
}

export type DeepLinkResult = { ok: true; link: RequestLink } | { ok: false; error: string };

export const DEEP_LINK_SCHEME = 'stint';
/** Longer links are refused outright: nothing legitimate needs more, and it bounds parsing work. */
export const MAX_DEEP_LINK_LENGTH = 2048;
const MAX_REASON_LENGTH = 1000; // as RequestInput in contract/
const MAX_DURATION_SECONDS = 30 * 86_400; // the server enforces each system's own maximum
const ALLOWED_PARAMS = new Set(['system', 'for', 'reason']);

const fail = (error: string): DeepLinkResult => ({ ok: false, error });

export function parseDeepLink(url: string): DeepLinkResult {
  if (url.length > MAX_DEEP_LINK_LENGTH) return fail(`A Stint link may be at most ${MAX_DEEP_LINK_LENGTH} characters.`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('That is not a link.');
  }
  if (parsed.protocol !== `${DEEP_LINK_SCHEME}:`) return fail(`Only ${DEEP_LINK_SCHEME}:// links are handled.`);
  // stint://user:pass@request or stint://request:99 would be odd ways to spell the same thing;
  // refusing them keeps one canonical form, so a link cannot dress up as something else.
  if (parsed.username || parsed.password || parsed.port) return fail('A Stint link carries no user, password or port.');
  if (parsed.host !== 'request') return fail(`Stint links can only open a request form, not "${parsed.host}".`);
  if (parsed.pathname !== '' && parsed.pathname !== '/') return fail('A Stint request link has no path.');

  const seen = new Set<string>();
  for (const key of parsed.searchParams.keys()) {
    if (!ALLOWED_PARAMS.has(key)) return fail(`Unknown link parameter "${key.slice(0, 40)}".`);
    // Two values for one key would leave which one wins to luck; refuse instead.
    if (seen.has(key)) return fail(`The link names "${key}" twice.`);
    seen.add(key);
  }

  const system = parsed.searchParams.get('system');
  if (system === null) return fail('The link names no system.');
  const systemId = SystemId.safeParse(system);
  if (!systemId.success) return fail(`"${system.slice(0, 64)}" is not a system id.`);

  let durationSeconds: number | null = null;
  const forText = parsed.searchParams.get('for');
  if (forText !== null) {
    if (forText.length > 20) return fail('The link’s duration is too long to be one.');
    durationSeconds = parseDuration(forText);
    if (durationSeconds === null) return fail(`"${forText}" is not a duration; write it like 15m or 1h30m.`);
    if (durationSeconds > MAX_DURATION_SECONDS) return fail('The link asks for more than 30 days.');
  }

  const reason = parsed.searchParams.get('reason') ?? '';
  if (reason.length > MAX_REASON_LENGTH) return fail(`The link’s reason is longer than ${MAX_REASON_LENGTH} characters.`);
  // Control characters could hide text in the form or the approver's notification.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/.test(reason)) return fail('The link’s reason contains control characters.');

  return { ok: true, link: { kind: 'request', systemId: systemId.data, durationSeconds, reason } };
}

/** The first stint:// argument on a command line (Windows and Linux deliver links this way). */
export function deepLinkFromArgv(argv: readonly string[]): string | null {
  return argv.find((arg) => arg.toLowerCase().startsWith(`${DEEP_LINK_SCHEME}://`)) ?? null;
}
