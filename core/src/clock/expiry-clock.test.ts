import { describe, expect, it, vi } from 'vitest';
import { ExpiryClock } from './expiry-clock';

describe('the expiry clock after sleep', () => {
  it('handles what fell due first, then says it woke, when the wall clock jumped between ticks', async () => {
    let offset = 0;
    const said: string[] = [];
    const deadline = Date.now() + 30_000;
    const clock = new ExpiryClock({
      now: () => Date.now() + offset,
      reminders: () => [],
      deadlines: () => (said.includes('wiped') ? [] : [{ grantId: 'g', startsAt: deadline - 60_000, expiresAt: deadline }]),
      onEvent: async (event) => void said.push(event.kind === 'deadline' ? 'wiped' : event.kind),
      tickMs: 20,
      onWake: () => said.push('woke'),
    });
    clock.start();
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(said).toEqual([]); // ticks at their pace: no wake
      offset = 60_000; // the machine slept through the deadline
      for (let i = 0; i < 50 && !said.includes('woke'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(said).toEqual(['wiped', 'woke']);
    } finally {
      clock.stop();
    }
  });
});

describe('the expiry clock with deadlines close together', () => {
  it('wipes a grant whose deadline passed while the one before it was being wiped, without waiting for the safety tick', async () => {
    vi.useFakeTimers();
    try {
      const start = Date.now();
      const wiped = new Map<string, number>();
      const deadlines = [
        { grantId: 'first', expiresAt: start + 1_000 },
        { grantId: 'second', expiresAt: start + 1_010 },
      ];
      const clock = new ExpiryClock({
        now: () => Date.now(),
        reminders: () => [],
        deadlines: () => deadlines.filter((d) => !wiped.has(d.grantId)),
        // A keychain delete takes a while: the second deadline passes during the first wipe.
        onEvent: async (event) => {
          await new Promise((r) => setTimeout(r, 30));
          wiped.set(event.grantId, Date.now() - start);
        },
        tickMs: 60_000,
      });
      clock.start();
      await vi.advanceTimersByTimeAsync(1_200);
      clock.stop();
      expect([...wiped.keys()]).toEqual(['first', 'second']);
      // The second is wiped right after the first (the tick would be a minute late).
      expect(wiped.get('second')).toBeLessThanOrEqual(1_010 + 30 + 30 + 10);
    } finally {
      vi.useRealTimers();
    }
  });
});
