import { describe, expect, it } from 'vitest';
import { devConfig } from '../dev/catalog';
import { onCallRule } from '../access/policy';
import { SystemConfig } from '../config/schema';
import { OnCallChecker } from './checker';
import { OnCallLookupError, type LookupWindow, type OnCallSource, type Shift } from './source';

/** A source answering from a list, or failing, and counting what it was asked. */
class ScriptedSource implements OnCallSource {
  readonly label = 'the scripted source';
  asked: { schedule: string; window: LookupWindow }[] = [];
  failWith: Error | null = null;
  constructor(public shiftsNow: Shift[]) {}
  async shifts(schedule: string, window: LookupWindow): Promise<Shift[]> {
    this.asked.push({ schedule, window });
    // Answers a moment later, as a network call would, so concurrent checks overlap.
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (this.failWith) throw this.failWith;
    return this.shiftsNow;
  }
}

const T = Date.parse('2025-03-01T10:00:00Z');
const question = { source: 'pd', schedule: 'P1', maxDurationSeconds: 3600 };
const olive = { email: 'olive@example.com' };
const shift: Shift = { email: 'Olive@Example.com', start: '2025-03-01T09:00:00Z', end: '2025-03-01T10:00:30Z' };

function setup(cacheSeconds = 30) {
  const source = new ScriptedSource([shift]);
  const warnings: unknown[][] = [];
  const checker = new OnCallChecker(new Map([['pd', source]]), cacheSeconds, { warn: (...args: unknown[]) => warnings.push(args) } as never);
  return { source, warnings, checker };
}

describe('on-call checker', () => {
  it('matches by email whatever its case, only while the shift lasts', async () => {
    const { checker } = setup(0);
    expect(await checker.check(question, olive, 900, T)).toEqual({ source: 'pd', schedule: 'P1', result: 'on-call', shift: { start: shift.start, end: shift.end } });
    expect(await checker.check(question, { email: 'oliver@example.com' }, 900, T)).toEqual({ source: 'pd', schedule: 'P1', result: 'not-on-call' });
    expect((await checker.check(question, olive, 900, T + 30_000)).result).toBe('not-on-call');
    expect((await checker.check(question, olive, 900, Date.parse(shift.start!) - 1)).result).toBe('not-on-call');
  });

  it('shares one lookup among concurrent checks, and reuses it until cacheSeconds have passed', async () => {
    const { checker, source } = setup(30);
    const answers = await Promise.all([1, 2, 3].map(() => checker.check(question, olive, 900, T)));
    expect(answers.map((a) => a.result)).toEqual(['on-call', 'on-call', 'on-call']);
    expect(source.asked).toEqual([{ schedule: 'P1', window: { from: T, to: T + 30_000 } }]);
    source.shiftsNow = [];
    expect((await checker.check(question, olive, 900, T + 29_999)).result).toBe('on-call');
    expect(source.asked).toHaveLength(1);
    expect((await checker.check(question, olive, 900, T + 30_000)).result).toBe('not-on-call');
    expect(source.asked).toHaveLength(2);
  });

  it('turns a failure into a "failed" answer, warns once per failed lookup, and never caches it', async () => {
    const { checker, source, warnings } = setup(30);
    source.failWith = new OnCallLookupError('the scripted source answered HTTP 503');
    const answers = await Promise.all([1, 2, 3].map(() => checker.check(question, olive, 900, T)));
    expect(answers).toEqual(Array(3).fill({ source: 'pd', schedule: 'P1', result: 'failed', error: 'the scripted source answered HTTP 503' }));
    expect(warnings).toEqual([[{ onCallSource: 'pd', schedule: 'P1', err: 'the scripted source answered HTTP 503' }, 'on-call lookup failed; the request goes to review']]);
    source.failWith = null;
    expect((await checker.check(question, olive, 900, T)).result).toBe('on-call');
    expect(source.asked).toHaveLength(2);
  });

  it('does not ask when the request is longer than the rule allows, or the requester has no email', async () => {
    const { checker, source } = setup();
    expect(await checker.check(question, olive, 3601, T)).toEqual({ source: 'pd', schedule: 'P1', result: 'too-long', maxDurationSeconds: 3600 });
    expect((await checker.check(question, { email: null }, 900, T)).result).toBe('not-on-call');
    expect((await checker.check(question, { email: '  ' }, 900, T)).result).toBe('not-on-call');
    expect(source.asked).toHaveLength(0);
  });

  it('answers "failed" for a source whose secret could not be read', async () => {
    const checker = OnCallChecker.fromConfig(
      { timeoutMs: 3000, cacheSeconds: 30, sources: { pd: { type: 'pagerduty', apiUrl: 'https://api.pagerduty.com', token: { env: 'STINT_TEST_UNSET_TOKEN' } } } },
      { warn: () => {} } as never,
      {},
    );
    expect(await checker.check(question, olive, 900, T)).toEqual({ source: 'pd', schedule: 'P1', result: 'failed', error: 'onCall.sources.pd.token: the environment variable STINT_TEST_UNSET_TOKEN is not set' });
  });
});

describe('policy: which requests ask an on-call source', () => {
  const base = devConfig('http://idp.test', 'stint-api').systems.find((s) => s.id === 'staging-db')!;
  const withRule = (autoApprove: Record<string, unknown>) => SystemConfig.parse({ ...base, autoApprove });
  const review = { ok: true, outcome: 'review', approvalsRequired: 1 } as const;

  it('asks only for requests the other rules send to review, with onCall.maxDuration or else autoApprove.maxDuration', () => {
    const own = withRule({ onCall: { source: 'pd', schedule: 'P1', maxDuration: '2h' } });
    expect(onCallRule(own, review)).toEqual({ source: 'pd', schedule: 'P1', maxDurationSeconds: 7200 });
    const shared = withRule({ groups: ['sre-leads'], maxDuration: '30m', onCall: { source: 'pd', schedule: 'P1' } });
    expect(onCallRule(shared, review)).toEqual({ source: 'pd', schedule: 'P1', maxDurationSeconds: 1800 });
    expect(onCallRule(shared, { ok: true, outcome: 'auto', approvalsRequired: 0 })).toBeNull();
    expect(onCallRule(shared, { ok: true, outcome: 'break-glass', approvalsRequired: 0 })).toBeNull();
    expect(onCallRule(shared, { ok: false, status: 403, error: 'not_a_requester', message: '' })).toBeNull();
    expect(onCallRule(base, review)).toBeNull();
  });
});
