import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { firstProblem, getJson, OnCallLookupError, type LookupWindow, type OnCallSource, type Shift } from './source';

const Instant = z.iso.datetime({ offset: true, message: 'an ISO 8601 time with a zone, e.g. 2025-03-01T09:00:00Z' });

/**
 * The rota format of the `file` and `url` sources: per schedule id, who is on call when.
 * Other keys are allowed (and ignored), so a rota can carry names or notes.
 */
export const Rota = z.object({
  schedules: z.record(
    z.string().min(1),
    z.array(
      z
        .object({ email: z.string().min(1), start: Instant, end: Instant })
        .refine((shift) => Date.parse(shift.start) < Date.parse(shift.end), 'end is not after start'),
    ),
  ),
});
export type Rota = z.infer<typeof Rota>;

function shiftsOf(body: unknown, schedule: string, window: LookupWindow, label: string): Shift[] {
  const parsed = Rota.safeParse(body);
  if (!parsed.success) throw new OnCallLookupError(`${label} is not a valid rota (${firstProblem(parsed.error.issues)})`);
  const shifts = parsed.data.schedules[schedule];
  // A schedule the rota does not list is a mistake in the config or the rota, not "nobody".
  if (!shifts) throw new OnCallLookupError(`${label} has no schedule "${schedule}"`);
  return shifts.filter((s) => Date.parse(s.start) < window.to && Date.parse(s.end) > window.from);
}

/** A rota file on this host, read at each lookup (through the checker's cache). */
export class RotaFileSource implements OnCallSource {
  readonly label: string;
  constructor(private readonly path: string) {
    this.label = `the rota file ${path}`;
  }

  async shifts(schedule: string, window: LookupWindow): Promise<Shift[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      throw new OnCallLookupError(`cannot read ${this.label} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OnCallLookupError(`${this.label} is not JSON`);
    }
    return shiftsOf(body, schedule, window, this.label);
  }
}

/** The same rota served over HTTP(S), with an optional bearer token. */
export class RotaUrlSource implements OnCallSource {
  readonly label: string;
  constructor(private readonly settings: { url: string; token: string | null; timeoutMs: number }) {
    this.label = `the rota at ${new URL(settings.url).origin}`;
  }

  async shifts(schedule: string, window: LookupWindow): Promise<Shift[]> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.settings.token) headers.authorization = `Bearer ${this.settings.token}`;
    return shiftsOf(await getJson(new URL(this.settings.url), headers, this.settings.timeoutMs, this.label), schedule, window, this.label);
  }
}
