import { dueEvents, nextWake, type ClockEvent, type Deadline } from './schedule';

export interface ExpiryClockOptions {
  now: () => number;
  reminders: () => readonly number[];
  deadlines: () => readonly Deadline[];
  onEvent: (event: ClockEvent) => Promise<void>;
  /** A safety tick against the wall clock: timers stall while a laptop sleeps. */
  tickMs?: number;
  /** Tests drive the clock by hand with check(). */
  manual?: boolean;
  /**
   * Called after a tick found the wall clock far ahead of the last one (the machine slept, or the
   * process was stopped), once what fell due meanwhile has been handled: wiping comes first.
   */
  onWake?: () => void;
}

/** A gap between ticks this much longer than a tick means the process did not run meanwhile. */
const WAKE_GAP_TICKS = 5;

/**
 * Fires reminders and deadlines. A timer aims at the next moment, and a steady tick re-reads
 * the wall clock, so a machine that slept through a deadline wipes within a tick of waking
 * (setTimeout runs on a monotonic clock that does not advance during suspend).
 */
export class ExpiryClock {
  private readonly sent = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private again = false;
  private lastTick = 0;
  /** When check() last looked at what was due; anything after it has not been looked at. */
  private lookedAt = -Infinity;

  constructor(private readonly options: ExpiryClockOptions) {}

  start(): void {
    if (this.options.manual) return;
    const tickMs = this.options.tickMs ?? 1000;
    this.lastTick = this.options.now();
    this.ticker = setInterval(() => {
      const now = this.options.now();
      const slept = now - this.lastTick > tickMs * WAKE_GAP_TICKS;
      this.lastTick = now;
      void this.check().then(() => {
        if (slept) this.options.onWake?.();
      });
    }, tickMs);
    this.ticker.unref();
    this.rearm();
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    if (this.timer) clearTimeout(this.timer);
    this.ticker = this.timer = null;
  }

  /** Deadlines changed (grant added, extended, ended): aim the timer again. */
  rearm(): void {
    if (this.options.manual) return;
    if (this.timer) clearTimeout(this.timer);
    const now = this.options.now();
    // From the last look, not from now: a deadline that passed while that look's wipes ran (a
    // keychain delete takes milliseconds) is due at once, not at the next safety tick. What the
    // last look already handled (a wipe the keychain refused included) waits for the tick.
    const next = nextWake(this.options.deadlines(), this.options.reminders(), this.lookedAt);
    if (next === null) return;
    // Wake a hair after the moment so "now >= deadline" holds when we look.
    this.timer = setTimeout(() => void this.check(), Math.min(Math.max(0, next - now) + 5, 2 ** 31 - 1));
    this.timer.unref();
  }

  /** Looks at the wall clock now and handles whatever is due. Calls coalesce. */
  check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        this.lookedAt = this.options.now();
        const events = dueEvents(this.options.deadlines(), this.options.reminders(), this.lookedAt, this.sent);
        // Deadlines first: a wipe must never wait behind a notification.
        events.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'deadline' ? -1 : 1));
        for (const event of events) {
          if (event.kind === 'reminder') this.sent.add(event.key);
          await this.options.onEvent(event);
        }
      } while (this.again);
    })().finally(() => {
      this.checking = null;
      this.rearm();
    });
    return this.checking;
  }
}
