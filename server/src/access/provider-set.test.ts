import { afterEach, describe, expect, it, vi } from 'vitest';
import { SystemConfig } from '../config/schema';
import { createMetrics } from '../observability/metrics';
import { ProviderRegistry, type Provider } from '../providers/provider';
import { ProviderSet } from './revocation';

/** A named test double: a provider that says which secret it read when built, and whether it was closed. */
function recordingRegistry() {
  const built: { secret: string; closed: boolean }[] = [];
  let secret = 'first';
  const registry = new ProviderRegistry().register('recording', () => {
    const made = { secret, closed: false };
    built.push(made);
    return {
      type: 'recording',
      needsPublicKey: false,
      secret: made.secret,
      issue: async () => ({ fields: {}, env: {}, state: {} }),
      revoke: async () => undefined,
      close: async () => {
        made.closed = true;
      },
    } as Provider & { secret: string };
  });
  return { registry, built, rotate: (next: string) => (secret = next) };
}

const system = (id: string, settings: Record<string, unknown> = {}) =>
  SystemConfig.parse({ id, name: id, provider: { type: 'recording', settings }, durations: { presets: ['5m'], max: '1h' }, requesters: ['engineering'], approvers: [], approvalsRequired: 0, justification: 'optional' });

const quiet = { info: () => undefined, warn: () => undefined };

afterEach(() => {
  vi.useRealTimers();
});

describe('the provider set across reloads', () => {
  it('reads a rotated secret on reload even when the settings are unchanged, and closes the old instance once calls on it are over', async () => {
    vi.useFakeTimers();
    const { registry, built, rotate } = recordingRegistry();
    const set = new ProviderSet(registry, quiet, createMetrics());
    set.configure([system('db')]);
    rotate('second');
    expect(set.configure([system('db')])).toEqual([]); // nothing retired: same settings
    expect((set.forSystem('db') as Provider & { secret: string }).secret).toBe('second');
    expect(built.map((b) => b.closed)).toEqual([false, false]); // an issue may still be running on the first
    await vi.runAllTimersAsync();
    expect(built.map((b) => b.closed)).toEqual([true, false]);
  });

  it('closes every provider it holds, live, retired and replaced, when the server stops', async () => {
    const { registry, built } = recordingRegistry();
    const set = new ProviderSet(registry, quiet, createMetrics());
    set.configure([system('db'), system('ssh', { v: 1 })]);
    set.configure([system('db'), system('ssh', { v: 2 })]); // ssh's old provider is retired, db's replaced
    await set.close();
    expect(built).toHaveLength(4);
    expect(built.every((b) => b.closed)).toBe(true);
  });
});
