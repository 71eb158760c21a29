// `stint request --at`: when a maintenance window starts, in the forms people type. The server
// takes an instant (ISO 8601 with an offset) within 7 days and says so when it is not.
import { parseDuration } from '@stint/contract';

const CLOCK = /^([01]?\d|2[0-3]):([0-5]\d)$/;
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$/;

/**
 * "22:00" (the next time the clock shows it, on this machine's time zone), "+2h" (from now),
 * "2026-12-03T22:00" (local time) or a full ISO 8601 instant ("…Z", "…+01:00"). Null when it is
 * none of these.
 */
export function parseStartAt(text: string, now: number = Date.now()): string | null {
  const input = text.trim();
  if (input.startsWith('+')) {
    const seconds = parseDuration(input.slice(1));
    return seconds === null ? null : new Date(now + seconds * 1000).toISOString();
  }
  const clock = CLOCK.exec(input);
  if (clock) {
    const at = new Date(now);
    at.setHours(Number(clock[1]), Number(clock[2]), 0, 0);
    if (at.getTime() <= now) at.setDate(at.getDate() + 1);
    return at.toISOString();
  }
  // Without an offset, Date reads a date-time as local time: what a person at this machine means.
  if (!LOCAL_DATE_TIME.test(input) && !/^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:?\d{2})$/.test(input)) return null;
  const at = Date.parse(input.replace(' ', 'T'));
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}
