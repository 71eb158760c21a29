import { describe, expect, it } from 'vitest';
import { parseStartAt } from './start-at';

describe('stint request --at', () => {
  // Noon on this machine's clock, whatever its time zone: the forms are read in local time.
  const noon = new Date(2026, 11, 2, 12, 0, 0).getTime();

  it('reads a clock time as its next occurrence: later today, or tomorrow once passed', () => {
    expect(parseStartAt('22:00', noon)).toBe(new Date(2026, 11, 2, 22, 0).toISOString());
    expect(parseStartAt('9:30', noon)).toBe(new Date(2026, 11, 3, 9, 30).toISOString());
    expect(parseStartAt('12:00', noon)).toBe(new Date(2026, 11, 3, 12, 0).toISOString());
  });

  it('reads +duration from now, and dates with or without an offset', () => {
    expect(parseStartAt('+2h30m', noon)).toBe(new Date(noon + 9_000_000).toISOString());
    expect(parseStartAt('2026-12-03T22:00', noon)).toBe(new Date(2026, 11, 3, 22, 0).toISOString());
    expect(parseStartAt('2026-12-03 22:00', noon)).toBe(new Date(2026, 11, 3, 22, 0).toISOString());
    expect(parseStartAt('2026-12-03T22:00:00Z', noon)).toBe('2026-12-03T22:00:00.000Z');
    expect(parseStartAt('2026-12-03T22:00:00+01:00', noon)).toBe('2026-12-03T21:00:00.000Z');
  });

  it('refuses what is not a time, rather than guessing', () => {
    for (const bad of ['', 'tonight', '25:00', '+soon', '+0s', '2026-12-03', '22:00; rm -rf /', '2026-13-40T99:99']) expect(parseStartAt(bad, noon), bad).toBeNull();
  });
});
