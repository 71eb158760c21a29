/** A deadline the clock watches: a grant's expiry. */
export interface Deadline {
  grantId: string;
  expiresAt: number;
  /** A reminder whose moment falls before the grant began is skipped (a 5-minute grant gets no "10 minutes left"). */
  startsAt?: number;
}

export type ClockEvent =
  | { kind: 'reminder'; grantId: string; secondsLeft: number; key: string }
  | { kind: 'deadline'; grantId: string };

/**
 * What is due at `now`: deadlines that passed, and reminders whose moment came but whose key
 * has not been sent. A reminder's key includes the deadline, so an extension re-arms it; a
 * reminder that is already past its deadline is skipped (the wipe says it all).
 */
export function dueEvents(deadlines: readonly Deadline[], remindersSeconds: readonly number[], now: number, sent: ReadonlySet<string>): ClockEvent[] {
  const events: ClockEvent[] = [];
  for (const { grantId, expiresAt, startsAt } of deadlines) {
    if (now >= expiresAt) {
      events.push({ kind: 'deadline', grantId });
      continue;
    }
    // Only the nearest due reminder matters: after a sleep, one "1 min left" beats two at once.
    const due = remindersSeconds
      .filter((seconds) => now >= expiresAt - seconds * 1000 && (startsAt === undefined || expiresAt - seconds * 1000 >= startsAt))
      .sort((a, b) => a - b)[0];
    if (due === undefined) continue;
    const key = `${grantId}@${expiresAt}:${due}`;
    if (!sent.has(key)) events.push({ kind: 'reminder', grantId, secondsLeft: Math.max(0, Math.round((expiresAt - now) / 1000)), key });
  }
  return events;
}

/** When the clock must next look: the nearest future deadline or reminder, or null. */
export function nextWake(deadlines: readonly Deadline[], remindersSeconds: readonly number[], now: number): number | null {
  let next: number | null = null;
  for (const { expiresAt, startsAt } of deadlines) {
    const reminders = remindersSeconds.map((s) => expiresAt - s * 1000).filter((at) => startsAt === undefined || at >= startsAt);
    for (const at of [expiresAt, ...reminders]) {
      if (at > now && (next === null || at < next)) next = at;
    }
  }
  return next;
}
