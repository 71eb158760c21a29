import { describe, expect, it } from 'vitest';
import { pooledRandomBytes } from './random-pool';

describe('pooledRandomBytes', () => {
  it('never hands out the same bytes twice, across refills of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(pooledRandomBytes(12).toString('hex'));
    expect(seen.size).toBe(2000);
  });

  it('gives a copy that later refills do not change', () => {
    const iv = pooledRandomBytes(12);
    const before = iv.toString('hex');
    for (let i = 0; i < 1000; i++) pooledRandomBytes(24);
    expect(iv.toString('hex')).toBe(before);
    expect(iv).toHaveLength(12);
  });

  it('refuses large amounts (keys come from randomBytes)', () => {
    expect(() => pooledRandomBytes(257)).toThrow(/small values/);
  });
});
