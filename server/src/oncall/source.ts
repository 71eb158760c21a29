/** One person's turn on a schedule, as the source gave it (start or end null: open-ended). */
export interface Shift {
  email: string;
  start: string | null;
  end: string | null;
}

/** The span a lookup asks about: now, and as far ahead as its answer will be reused. */
export interface LookupWindow {
  from: number;
  to: number;
}

/** Something that can say who is on call for a schedule: PagerDuty, Opsgenie, a rota. */
export interface OnCallSource {
  /** The vendor or kind, for messages: "PagerDuty", "the rota file /etc/stint/oncall.json". */
  readonly label: string;
  /** Every shift on `schedule` that overlaps the window; throws OnCallLookupError when it cannot tell. */
  shifts(schedule: string, window: LookupWindow): Promise<Shift[]>;
}

/** The source could not say (down, slow, refused, answered garbage): the request goes to review. */
export class OnCallLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnCallLookupError';
  }
}

/** Larger answers are refused: a schedule's on-calls for a minute fit in far less. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * GETs a JSON document within `timeoutMs` (connect, headers and body). Redirects are refused:
 * a redirect elsewhere would carry the token to a host the config never named.
 */
export async function getJson(url: URL, headers: Record<string, string>, timeoutMs: number, label: string): Promise<unknown> {
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { headers, redirect: 'error', signal });
  } catch (error) {
    throw lookupFailure(error, signal, timeoutMs, label);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw new OnCallLookupError(`${label} answered HTTP ${response.status}${response.status === 401 || response.status === 403 ? ' (check its token and what the token may read)' : ''}`);
  }
  let text: string;
  try {
    text = await readCapped(response, label);
  } catch (error) {
    throw error instanceof OnCallLookupError ? error : lookupFailure(error, signal, timeoutMs, label);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new OnCallLookupError(`${label} answered with something that is not JSON`);
  }
}

function lookupFailure(error: unknown, signal: AbortSignal, timeoutMs: number, label: string): OnCallLookupError {
  if (signal.aborted) return new OnCallLookupError(`${label} did not answer within ${timeoutMs} ms`);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new OnCallLookupError(`cannot reach ${label} (${cause?.code ?? cause?.message ?? (error as Error).message})`);
}

async function readCapped(response: Response, label: string): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) throw new OnCallLookupError(`${label} answered with more than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The first problem zod found in an answer, for the audit row: where, and what. */
export function firstProblem(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const issue = issues[0];
  if (!issue) return 'unexpected shape';
  return `${issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)'}: ${issue.message}`;
}
