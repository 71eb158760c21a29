import { formatDuration, formatMoment, visibleText, WIPE_REASONS, type CoreState, type NameOf, type Notice } from '@stint/contract';

/**
 * One line a person reads in a toast; the same words the tray's notifications use. Names come
 * from the identity provider, so their control characters are made visible (text.tsx).
 */
export function noticeText(notice: Notice, nameOf: NameOf = (id) => id): string {
  return visibleText(noticeWords(notice, nameOf));
}

function noticeWords(notice: Notice, name: NameOf): string {
  switch (notice.kind) {
    case 'review-requested':
      return `${notice.request.requester.name ?? notice.request.requester.sub} asks for ${name(notice.request.systemId)} for ${formatDuration(notice.request.durationSeconds)}.`;
    case 'request-approved':
      return `Your request for ${name(notice.request.systemId)} was approved.`;
    case 'request-denied':
      return `Your request for ${name(notice.request.systemId)} was denied.`;
    case 'request-expired':
      return `Your request for ${name(notice.request.systemId)} expired without a decision.`;
    case 'grant-active':
      return `Access to ${name(notice.grant.systemId)} is active until ${new Date(notice.grant.expiresAt).toLocaleTimeString()}.`;
    case 'grant-waiting':
      return notice.grant.startAt
        ? `Approved: ${name(notice.grant.systemId)} starts by itself at ${formatMoment(notice.grant.startAt)}.`
        : `Approved: ${name(notice.grant.systemId)} waits for you; start it before ${formatMoment(notice.grant.startBy ?? '')}.`;
    case 'grant-unstarted':
      return `Your approval for ${name(notice.systemId)} lapsed: it was not started in time. Ask again when you need it.`;
    case 'grant-reminder':
      return `Access to ${name(notice.grant.systemId)} ends in ${formatDuration(notice.secondsLeft)}.`;
    case 'grant-wiped':
      return `Access to ${name(notice.systemId)} ended: ${WIPE_REASONS[notice.reason].toLowerCase()}. ${notice.wiped.length ? `Removed from this machine: ${notice.wiped.join(', ')}.` : 'Nothing of it was stored on this machine.'}`;
    case 'error':
      return notice.message;
  }
}

/** Counts down the way a clock does: 4:59, 1:02:03. */
export function clockText(secondsLeft: number): string {
  const s = Math.max(0, Math.floor(secondsLeft));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export interface ReminderExtension {
  grantId: string;
  durationSeconds: number;
}

/** How much an Extend button asks for: the system's shortest duration preset. */
export function extensionSeconds(state: CoreState | null, systemId: string): number {
  return state?.systems.find((s) => s.id === systemId)?.durationPresetsSeconds[0] ?? 900;
}

/** A reminder offers Extend only when the policy allows it (the notice says so). */
export function reminderExtension(notice: Notice, state: CoreState | null): ReminderExtension | undefined {
  if (notice.kind !== 'grant-reminder' || !notice.canExtend) return undefined;
  return { grantId: notice.grant.grantId, durationSeconds: extensionSeconds(state, notice.grant.systemId) };
}
