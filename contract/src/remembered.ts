// Requests a person makes again and again: pinned ones (settings) and their recent ones. Shared
// by the tray menu (Electron) and the tray popover (renderer), which offer them as one click.
import type { CoreState, Settings } from './bridge';

export type RememberedRequest = Settings['pinned'][number];

const RECENT_LIMIT = 5;

const sameRequest = (a: RememberedRequest, b: RememberedRequest) =>
  a.systemId === b.systemId && a.durationSeconds === b.durationSeconds && a.reason === b.reason && a.ticket === b.ticket;

/** What the system's policy asks for that a remembered request lacks, or null when it has all. */
export function missingForPolicy(system: CoreState['systems'][number], entry: RememberedRequest): string | null {
  const { policy } = system;
  if (policy.justification === 'required' && entry.reason.trim() === '') return 'a reason';
  if (policy.ticketPattern && !(entry.ticket && new RegExp(policy.ticketPattern).test(entry.ticket))) return 'a ticket';
  return null;
}

/** The person's own recent requests, newest first, without duplicates or pinned ones. */
export function recentRequests(state: CoreState, pinned: Settings['pinned'], limit = RECENT_LIMIT): RememberedRequest[] {
  const out: RememberedRequest[] = [];
  const mine = [...state.myRequests].filter((r) => r.extendsGrantId === null).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  for (const request of mine) {
    const entry: RememberedRequest = { systemId: request.systemId, durationSeconds: request.durationSeconds, reason: request.reason, ...(request.ticket ? { ticket: request.ticket } : {}) };
    if (pinned.some((p) => sameRequest(p, entry)) || out.some((o) => sameRequest(o, entry))) continue;
    out.push(entry);
    if (out.length >= limit) break;
  }
  return out;
}
