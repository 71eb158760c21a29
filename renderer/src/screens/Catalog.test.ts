import { describe, expect, it } from 'vitest';
import { durationChoices, withPinned } from './Catalog';

const system = { durationPresetsSeconds: [300, 900, 3600], maxDurationSeconds: 14_400 };

describe('durationChoices', () => {
  it('starts on a linked preset', () => {
    expect(durationChoices(system, 900)).toEqual({ choices: [300, 900, 3600], initial: 900 });
  });
  it('offers a linked duration within the maximum beside the presets', () => {
    expect(durationChoices(system, 7200)).toEqual({ choices: [300, 900, 3600, 7200], initial: 7200 });
  });
  it('falls back to the first preset when the link names none or too much', () => {
    expect(durationChoices(system, null)).toEqual({ choices: [300, 900, 3600], initial: 300 });
    expect(durationChoices(system, 86_400)).toEqual({ choices: [300, 900, 3600], initial: 300 });
  });
});

describe('withPinned', () => {
  const a = { systemId: 'prod-db', durationSeconds: 1800, reason: 'on call' };
  it('puts the new pin first and replaces an older pin of the same system', () => {
    expect(withPinned([a], { systemId: 'staging-db', durationSeconds: 900, reason: '' }).map((p) => p.systemId)).toEqual(['staging-db', 'prod-db']);
    expect(withPinned([a], { ...a, durationSeconds: 3600 })).toEqual([{ ...a, durationSeconds: 3600 }]);
  });
  it('keeps at most 20, as the settings allow', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ systemId: `s${i}`, durationSeconds: 60, reason: '' }));
    const next = withPinned(many, a);
    expect(next).toHaveLength(20);
    expect(next[0]).toBe(a);
    expect(next.some((p) => p.systemId === 's19')).toBe(false);
  });
});
