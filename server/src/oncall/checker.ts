import { accessSync, constants } from 'node:fs';
import type { Logger } from 'pino';
import { readSecret } from '../config/load';
import type { OnCallConfig, OnCallSourceConfig } from '../config/schema';
import { OpsgenieSource } from './opsgenie';
import { PagerDutySource } from './pagerduty';
import { RotaFileSource, RotaUrlSource } from './rota';
import { OnCallLookupError, type OnCallSource, type Shift } from './source';

/** What a system's autoApprove.onCall asks, its duration limit resolved (access/policy.ts onCallRule). */
export interface OnCallQuestion {
  source: string;
  schedule: string;
  maxDurationSeconds: number;
}

/**
 * The answer, as the request's audit row records it. Only `on-call` approves; every other
 * result, a failure above all, leaves the request to its reviewers.
 */
export type OnCallAnswer = { source: string; schedule: string } & (
  | { result: 'on-call'; shift: { start: string | null; end: string | null } }
  | { result: 'not-on-call'; why?: string }
  | { result: 'too-long'; maxDurationSeconds: number }
  | { result: 'failed'; error: string }
);

/** A source that could not even be built (its token's variable unset): every lookup says why. */
class BrokenSource implements OnCallSource {
  constructor(
    readonly label: string,
    private readonly problem: string,
  ) {}
  shifts(): Promise<Shift[]> {
    return Promise.reject(new OnCallLookupError(this.problem));
  }
}

/** Builds one configured source, reading its secret; throws with the key that is wrong. */
export function buildSource(name: string, config: OnCallSourceConfig, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): OnCallSource {
  const key = `onCall.sources.${name}`;
  switch (config.type) {
    case 'pagerduty':
      return new PagerDutySource({ apiUrl: config.apiUrl, token: readSecret(config.token, `${key}.token`, process.cwd(), env), timeoutMs });
    case 'opsgenie':
      return new OpsgenieSource({ apiUrl: config.apiUrl, apiKey: readSecret(config.apiKey, `${key}.apiKey`, process.cwd(), env), timeoutMs });
    case 'file':
      return new RotaFileSource(config.path);
    case 'url':
      return new RotaUrlSource({ url: config.url, token: config.token ? readSecret(config.token, `${key}.token`, process.cwd(), env) : null, timeoutMs });
  }
}

/** What check-config (and so serve and a reload) refuses: a secret that cannot be read, a rota file that is not there. */
export function onCallSourceProblems(config: OnCallConfig, env: NodeJS.ProcessEnv = process.env): { name: string; key: string; message: string }[] {
  const problems: { name: string; key: string; message: string }[] = [];
  for (const [name, source] of Object.entries(config.sources)) {
    const key = source.type === 'file' ? 'path' : source.type === 'opsgenie' ? 'apiKey' : 'token';
    try {
      buildSource(name, source, config.timeoutMs, env);
    } catch (error) {
      problems.push({ name, key, message: (error as Error).message.replace(`onCall.sources.${name}.${key}: `, '') });
      continue;
    }
    if (source.type === 'file') {
      try {
        accessSync(source.path, constants.R_OK);
      } catch (error) {
        problems.push({ name, key, message: `cannot read the rota file ${source.path} (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
      }
    }
  }
  return problems;
}

const sameEmail = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** Whether a shift covers the instant `now` (an open end covers everything on that side). */
function covers(shift: Shift, now: number): boolean {
  const start = shift.start === null ? -Infinity : Date.parse(shift.start);
  const end = shift.end === null ? Infinity : Date.parse(shift.end);
  // A time the source wrote that does not parse covers nothing.
  return !Number.isNaN(start) && !Number.isNaN(end) && start <= now && now < end;
}

/**
 * Asks on-call sources whether someone is on call now. One answer per schedule is reused for
 * `cacheSeconds`, and concurrent lookups of one schedule share one call, so a burst of requests
 * asks the vendor once. A failure is never cached: the next request asks again.
 */
export class OnCallChecker {
  private readonly cache = new Map<string, { at: number; shifts: Shift[] }>();
  private readonly inFlight = new Map<string, Promise<Shift[]>>();
  private readonly cacheMs: number;

  constructor(
    private readonly sources: ReadonlyMap<string, OnCallSource>,
    cacheSeconds: number,
    private readonly log: Pick<Logger, 'warn'>,
  ) {
    this.cacheMs = cacheSeconds * 1000;
  }

  static fromConfig(config: OnCallConfig, log: Pick<Logger, 'warn'>, env: NodeJS.ProcessEnv = process.env): OnCallChecker {
    const sources = new Map<string, OnCallSource>();
    for (const [name, source] of Object.entries(config.sources)) {
      try {
        sources.set(name, buildSource(name, source, config.timeoutMs, env));
      } catch (error) {
        // check-config refuses this at boot and reload; this is for a variable unset since.
        sources.set(name, new BrokenSource(name, (error as Error).message));
      }
    }
    return new OnCallChecker(sources, config.cacheSeconds, log);
  }

  /**
   * Whether `person` (matched by email, case-insensitively) is on call at `now` for the
   * question's schedule, and may be approved for `durationSeconds`. Never throws.
   */
  async check(question: OnCallQuestion, person: { email: string | null }, durationSeconds: number, now: number): Promise<OnCallAnswer> {
    const about = { source: question.source, schedule: question.schedule };
    // Longer than on-call approval allows: the source is not asked (and learns nothing).
    if (durationSeconds > question.maxDurationSeconds) return { ...about, result: 'too-long', maxDurationSeconds: question.maxDurationSeconds };
    if (!person.email?.trim()) return { ...about, result: 'not-on-call', why: 'the requester has no email address to match' };
    let shifts: Shift[];
    try {
      shifts = await this.shiftsAt(question, now);
    } catch (error) {
      return { ...about, result: 'failed', error: (error as Error).message };
    }
    const shift = shifts.find((s) => sameEmail(s.email, person.email!) && covers(s, now));
    return shift ? { ...about, result: 'on-call', shift: { start: shift.start, end: shift.end } } : { ...about, result: 'not-on-call' };
  }

  private shiftsAt(question: OnCallQuestion, now: number): Promise<Shift[]> {
    const key = JSON.stringify([question.source, question.schedule]);
    const cached = this.cache.get(key);
    if (cached && now >= cached.at && now < cached.at + this.cacheMs) return Promise.resolve(cached.shifts);
    const running = this.inFlight.get(key);
    if (running) return running;
    const source = this.sources.get(question.source);
    const lookup = (source
      ? source.shifts(question.schedule, { from: now, to: now + this.cacheMs })
      : Promise.reject(new OnCallLookupError(`no on-call source is named "${question.source}"`))
    )
      .then(
        (shifts) => {
          if (this.cacheMs > 0) this.cache.set(key, { at: now, shifts });
          return shifts;
        },
        (error: unknown) => {
          const message = error instanceof OnCallLookupError ? error.message : `the lookup failed unexpectedly (${(error as Error).message})`;
          // Said once per failed lookup, however many requests were waiting on it.
          this.log.warn({ onCallSource: question.source, schedule: question.schedule, err: message }, 'on-call lookup failed; the request goes to review');
          throw new OnCallLookupError(message);
        },
      )
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, lookup);
    return lookup;
  }
}
