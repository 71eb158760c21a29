import { describe, expect, it } from 'vitest';
import { timeLeft } from './live-access';

describe('timeLeft', () => {
  it('says how long is left as people say it, rounded down', () => {
    expect(timeLeft(12 * 60_000)).toBe('12 min');
    expect(timeLeft(12 * 60_000 + 59_999)).toBe('12 min');
    expect(timeLeft(59_999)).toBe('59 s');
    expect(timeLeft(200)).toBe('1 s');
    expect(timeLeft(60 * 60_000)).toBe('1 h');
    expect(timeLeft(125 * 60_000)).toBe('2 h 5 min');
  });
});
