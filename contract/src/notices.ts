// Which notification a notice becomes, as a pure function (STYLE.md, "Glue takes narrow
// dependencies"): Electron's main hands the plan to its Notification, web mode to the browser's.
// One plan, so the desktop and the browser tell a person the same things in the same words.
import type { AccessRequest } from './domain';
import { formatDuration, formatMoment } from './duration';
import type { Notice, Settings } from './bridge';
import { visibleText } from './text';

export type NotificationActionId = 'approve' | 'deny' | 'extend' | 'start' | 'open';

/** Where a click on the notification body (not an action button) leads. */
export type NotificationTarget =
  | { view: 'review'; requestId: string }
  | { view: 'request'; requestId: string }
  | { view: 'grant'; grantId: string }
  | { view: 'home' };

export interface NotificationPlan {
  title: string;
  body: string;
  actions: { id: NotificationActionId; text: string }[];
  /** Linux only in Electron; elsewhere ignored. */
  urgency: 'low' | 'normal' | 'critical';
  onClick: NotificationTarget;
  /**
   * Notices about one grant (or one request) share a tag: a later one replaces the earlier on
   * screen, so a grant's reminders do not pile up under its expiry receipt.
   */
  tag: string;
}

/** Where a notification shows: an OS (Electron's `process.platform`) or a browser tab. */
export type NotificationHost = 'darwin' | 'win32' | 'linux' | 'browser' | (string & {});

/** A system's display name for its id; ids stand in for systems the catalog no longer lists. */
export type NameOf = (systemId: string) => string;

/**
 * Action buttons only where Electron delivers them: macOS. Windows toasts need a registered
 * AUMID and COM activator to report button clicks, and Linux servers differ, so there the
 * plain notification opens the review in the window instead.
 */
export function supportsNotificationActions(platform: NotificationHost): boolean {
  return platform === 'darwin';
}

// Names come from the IdP and reasons from other people: their control and bidi characters are
// shown as visible escapes, so a notification cannot be made to read as something else.
const who = (request: AccessRequest) => visibleText(request.requester.name ?? request.requester.email ?? request.requester.sub);

const quote = (text: string, max = 120) => {
  const flat = visibleText(text.replace(/\s+/g, ' ').trim());
  return flat.length > max ? `“${flat.slice(0, max - 1)}…”` : `“${flat}”`;
};

/** Who approved for less, and their comment when they gave one: " (Bob: “half an hour is enough”)". */
export function shortenedBecause(request: AccessRequest): string {
  const shortest = request.reviews
    .filter((r) => r.decision === 'approve' && r.durationSeconds)
    .sort((a, b) => (a.durationSeconds ?? 0) - (b.durationSeconds ?? 0))[0];
  if (!shortest) return '';
  const name = visibleText(shortest.reviewer.name ?? shortest.reviewer.sub);
  return shortest.comment ? ` (${name}: ${quote(shortest.comment)})` : ` (${name} approved for less)`;
}

/** Why a grant's credential was wiped, as a sentence's start ("Time is up."). */
export const WIPE_REASONS: Record<Extract<Notice, { kind: 'grant-wiped' }>['reason'], string> = {
  expired: 'Time is up',
  released: 'You released it',
  revoked: 'An administrator revoked it',
  'signed-out': 'You signed out',
  failed: 'The grant failed',
};

export function planNotification(
  notice: Notice,
  settings: Settings['notifications'],
  platform: NotificationHost,
  nameOf: NameOf = (id) => id,
): NotificationPlan | null {
  const actionable = supportsNotificationActions(platform);
  const plan = planFor(notice, settings, actionable, (id) => visibleText(nameOf(id)));
  return plan && { ...plan, tag: noticeTag(notice) };
}

/** The grant or request a notice is about; the tag that replaces earlier notices about it. */
export function noticeTag(notice: Notice): string {
  switch (notice.kind) {
    case 'grant-active':
    case 'grant-reminder':
    case 'grant-waiting':
      return `grant:${notice.grant.grantId}`;
    case 'grant-unstarted':
    case 'grant-wiped':
      return `grant:${notice.grantId}`;
    case 'error':
      return `error:${notice.message}`;
    default:
      return `request:${notice.request.id}`;
  }
}

function planFor(
  notice: Notice,
  settings: Settings['notifications'],
  actionable: boolean,
  name: NameOf,
): Omit<NotificationPlan, 'tag'> | null {
  switch (notice.kind) {
    case 'review-requested': {
      if (!settings.reviews) return null;
      const { request } = notice;
      return {
        title: `${request.breakGlass ? 'Break-glass' : 'Review'}: ${who(request)} asks for ${name(request.systemId)}`,
        body: `${formatDuration(request.durationSeconds)}${request.reason ? ` — ${quote(request.reason)}` : ' — no reason given'}`,
        actions: actionable ? [{ id: 'approve', text: 'Approve' }, { id: 'deny', text: 'Deny' }] : [],
        urgency: request.breakGlass ? 'critical' : 'normal',
        onClick: { view: 'review', requestId: request.id },
      };
    }
    case 'request-approved':
      if (!settings.decisions) return null;
      return {
        title: `Approved: ${name(notice.request.systemId)}`,
        body: notice.request.askedSeconds
          ? `Approved for ${formatDuration(notice.request.durationSeconds)} of the ${formatDuration(notice.request.askedSeconds)} you asked${shortenedBecause(notice.request)}; the credential is on its way to your keychain.`
          : `Your ${formatDuration(notice.request.durationSeconds)} request was approved; the credential is on its way to your keychain.`,
        actions: [],
        urgency: 'normal',
        onClick: { view: 'request', requestId: notice.request.id },
      };
    case 'request-denied': {
      if (!settings.decisions) return null;
      const denial = notice.request.reviews.find((r) => r.decision === 'deny');
      const by = denial ? visibleText(denial.reviewer.name ?? denial.reviewer.email ?? denial.reviewer.sub) : null;
      return {
        title: `Denied: ${name(notice.request.systemId)}`,
        body: [by ? `Denied by ${by}.` : 'Your request was denied.', denial?.comment ? quote(denial.comment) : ''].filter(Boolean).join(' '),
        actions: [],
        urgency: 'normal',
        onClick: { view: 'request', requestId: notice.request.id },
      };
    }
    case 'request-expired':
      if (!settings.decisions) return null;
      return {
        title: `Request expired: ${name(notice.request.systemId)}`,
        body: 'Nobody reviewed it in time. Ask again, or ask an approver directly.',
        actions: [],
        urgency: 'normal',
        onClick: { view: 'request', requestId: notice.request.id },
      };
    case 'grant-active':
      if (!settings.decisions) return null;
      return {
        title: `${name(notice.grant.systemId)} is ready`,
        body: 'The credential is in your keychain; new shells pick it up, or use `stint exec`. It is wiped at the deadline.',
        actions: [],
        urgency: 'low',
        onClick: { view: 'grant', grantId: notice.grant.grantId },
      };
    case 'grant-waiting': {
      if (!settings.decisions) return null;
      const { grant } = notice;
      if (grant.startAt) {
        return {
          title: `Approved: ${name(grant.systemId)} at ${formatMoment(grant.startAt)}`,
          body: `Your ${formatDuration(grant.durationSeconds)} starts by itself at ${formatMoment(grant.startAt)}, the time you asked for; you are told when the credential is in your keychain.`,
          actions: [],
          urgency: 'normal',
          onClick: { view: 'grant', grantId: grant.grantId },
        };
      }
      return {
        title: `Approved: ${name(grant.systemId)}, start when ready`,
        body: `Your ${formatDuration(grant.durationSeconds)} has not started. Start it before ${grant.startBy ? formatMoment(grant.startBy) : 'the start window closes'}; the countdown begins then.`,
        actions: actionable ? [{ id: 'start', text: 'Start now' }] : [],
        urgency: 'normal',
        onClick: { view: 'grant', grantId: grant.grantId },
      };
    }
    case 'grant-unstarted':
      if (!settings.decisions) return null;
      return {
        title: `Approval lapsed: ${name(notice.systemId)}`,
        body: 'It was not started within its start window, so nothing was issued. Ask again when you need it.',
        actions: [],
        urgency: 'normal',
        onClick: { view: 'request', requestId: notice.requestId },
      };
    case 'grant-reminder':
      if (!settings.reminders) return null;
      return {
        title: `${name(notice.grant.systemId)}: ${formatDuration(notice.secondsLeft)} left`,
        body: notice.canExtend ? 'Extend it now if you still need it.' : 'It ends at the deadline; it cannot be extended.',
        actions: notice.canExtend && actionable ? [{ id: 'extend', text: 'Extend' }] : [],
        urgency: notice.secondsLeft <= 300 ? 'critical' : 'normal',
        onClick: { view: 'grant', grantId: notice.grant.grantId },
      };
    case 'grant-wiped':
      if (!settings.receipts) return null;
      return {
        title: `${name(notice.systemId)} access ended`,
        body: `${WIPE_REASONS[notice.reason]}. ${notice.wiped.length > 0 ? `Wiped from this machine: ${notice.wiped.join(', ')}.` : 'Nothing of it was stored on this machine.'}`,
        actions: [],
        urgency: notice.reason === 'revoked' || notice.reason === 'failed' ? 'critical' : 'low',
        onClick: { view: 'home' },
      };
    case 'error':
      // No toggle: errors reach core's notice stream only when something needs a person
      // (say, the keychain refused a delete), and hiding that would leave a secret behind silently.
      return { title: 'Stint needs your attention', body: notice.message, actions: [], urgency: 'critical', onClick: { view: 'home' } };
  }
}
