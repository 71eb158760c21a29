import { describe, expect, it } from 'vitest';
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
