// Which desktop notification a notice becomes, as a pure function (STYLE.md, "Glue takes
// narrow dependencies"); main.ts only hands the plan to Electron's Notification.
import { formatDuration, visibleText, type AccessRequest, type Notice, type Settings } from '@stint/contract';

export type NotificationActionId = 'approve' | 'deny' | 'extend' | 'open';

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
}

/**
 * Action buttons only where Electron delivers them: macOS. Windows toasts need a registered
 * AUMID and COM activator to report button clicks, and Linux servers differ, so there the
 * plain notification opens the review in the window instead.
 */
export function supportsNotificationActions(platform: NodeJS.Platform): boolean {
  return platform === 'darwin';
}

// Names come from the IdP and reasons from other people: their control and bidi characters are
// shown as visible escapes, so a notification cannot be made to read as something else.
const who = (request: AccessRequest) => visibleText(request.requester.name ?? request.requester.email ?? request.requester.sub);

const quote = (text: string, max = 120) => {
  const flat = visibleText(text.replace(/\s+/g, ' ').trim());
  return flat.length > max ? `“${flat.slice(0, max - 1)}…”` : `“${flat}”`;
};

const WIPE_REASONS: Record<Extract<Notice, { kind: 'grant-wiped' }>['reason'], string> = {
  expired: 'Time is up',
  released: 'You released it',
  revoked: 'An administrator revoked it',
  'signed-out': 'You signed out',
  failed: 'The grant failed',
};

export function planNotification(
  notice: Notice,
  settings: Settings['notifications'],
  platform: NodeJS.Platform,
): NotificationPlan | null {
  const actionable = supportsNotificationActions(platform);
  switch (notice.kind) {
    case 'review-requested': {
      if (!settings.reviews) return null;
      const { request } = notice;
      return {
        title: `${request.breakGlass ? 'Break-glass' : 'Review'}: ${who(request)} asks for ${request.systemId}`,
        body: `${formatDuration(request.durationSeconds)}${request.reason ? ` — ${quote(request.reason)}` : ' — no reason given'}`,
        actions: actionable ? [{ id: 'approve', text: 'Approve' }, { id: 'deny', text: 'Deny' }] : [],
        urgency: request.breakGlass ? 'critical' : 'normal',
        onClick: { view: 'review', requestId: request.id },
      };
    }
    case 'request-approved':
      if (!settings.decisions) return null;
      return {
        title: `Approved: ${notice.request.systemId}`,
        body: `Your ${formatDuration(notice.request.durationSeconds)} request was approved; the credential is on its way to your keychain.`,
        actions: [],
        urgency: 'normal',
        onClick: { view: 'request', requestId: notice.request.id },
      };
    case 'request-denied': {
      if (!settings.decisions) return null;
      const denial = notice.request.reviews.find((r) => r.decision === 'deny');
      const by = denial ? visibleText(denial.reviewer.name ?? denial.reviewer.email ?? denial.reviewer.sub) : null;
      return {
        title: `Denied: ${notice.request.systemId}`,
        body: [by ? `Denied by ${by}.` : 'Your request was denied.', denial?.comment ? quote(denial.comment) : ''].filter(Boolean).join(' '),
        actions: [],
        urgency: 'normal',
        onClick: { view: 'request', requestId: notice.request.id },
      };
    }
    case 'request-expired':
      if (!settings.decisions) return null;
      return {
        title: `Request expired: ${notice.request.systemId}`,
        body: 'Nobody reviewed it in time. Ask again, or ask an approver directly.',
        actions: [],
        urgency: 'normal',
        onClick: { view: 'request', requestId: notice.request.id },
      };
    case 'grant-active':
      if (!settings.decisions) return null;
      return {
        title: `${notice.grant.systemId} is ready`,
        body: 'The credential is in your keychain; new shells pick it up, or use `stint exec`. It is wiped at the deadline.',
        actions: [],
        urgency: 'low',
        onClick: { view: 'grant', grantId: notice.grant.grantId },
      };
    case 'grant-reminder':
      if (!settings.reminders) return null;
      return {
        title: `${notice.grant.systemId}: ${formatDuration(notice.secondsLeft)} left`,
        body: notice.canExtend ? 'Extend it now if you still need it.' : 'It ends at the deadline; it cannot be extended.',
        actions: notice.canExtend && actionable ? [{ id: 'extend', text: 'Extend' }] : [],
        urgency: notice.secondsLeft <= 300 ? 'critical' : 'normal',
        onClick: { view: 'grant', grantId: notice.grant.grantId },
      };
    case 'grant-wiped':
      if (!settings.receipts) return null;
      return {
        title: `${notice.systemId} access ended`,
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
