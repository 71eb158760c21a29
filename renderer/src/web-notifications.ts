import { planNotification, type NameOf, type Notice, type Settings } from '@stint/contract';
import { useEffect, useState } from 'react';
import { routeHash } from './use-route';

/**
 * Web mode's desktop notifications, through the browser's Notification API. In Electron the main
 * process shows them (window.stint is there), so the window must not show them twice.
 */
export function webNotificationsAvailable(win: Window & typeof globalThis = window): boolean {
  return !win.stint && typeof win.Notification === 'function';
}

export type WebPermission = NotificationPermission | 'unavailable';

/** The browser's permission, and a way to ask for it; asking must come from a click (browsers refuse otherwise). */
export function useWebNotificationPermission(): { permission: WebPermission; ask: () => void } {
  const [permission, setPermission] = useState<WebPermission>(() => (webNotificationsAvailable() ? Notification.permission : 'unavailable'));
  useEffect(() => {
    if (!webNotificationsAvailable()) return;
    // The person may change it in the browser's site settings while the tab is open.
    const onFocus = () => setPermission(Notification.permission);
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, []);
  const ask = () => {
    if (!webNotificationsAvailable()) return;
    void Notification.requestPermission().then(setPermission, () => setPermission(Notification.permission));
  };
  return { permission, ask };
}

/**
 * Shows a notice as a browser notification when the person is not looking at the tab (a toast
 * covers the tab in front of them). Same plan as the desktop: words, which notices each setting
 * allows, and a tag so a grant's later notice replaces its reminder. The browser delivers no
 * action buttons to a page, so a click opens the card (the review, the grant) in this tab.
 */
export function showWebNotification(notice: Notice, settings: Settings['notifications'], nameOf: NameOf): Notification | null {
  if (!webNotificationsAvailable() || Notification.permission !== 'granted' || !tabInBackground()) return null;
  const plan = planNotification(notice, settings, 'browser', nameOf);
  if (!plan) return null;
  const notification = new Notification(plan.title, { body: plan.body, tag: plan.tag, requireInteraction: plan.urgency === 'critical' });
  notification.onclick = () => {
    window.focus();
    window.location.hash = routeHash(plan.onClick);
    notification.close();
  };
  return notification;
}

/** The person is not looking at this tab: a toast would go unseen. */
export const tabInBackground = (): boolean => document.visibilityState !== 'visible' || !document.hasFocus();

/** The tab's title counts what needs the person: reviews waiting, and live grants. */
export function titleFor(reviews: number, active: number): string {
  const parts = [reviews > 0 ? `${reviews} to review` : '', active > 0 ? `${active} active` : ''].filter(Boolean);
  return parts.length > 0 ? `(${parts.join(', ')}) Stint` : 'Stint';
}
