import { describe, expect, it } from 'vitest';
import { durationChoices } from './Catalog';

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
