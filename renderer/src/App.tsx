import { formatDuration, noticeTag, type CoreState, type Notice, type StintBridge } from '@stint/contract';
import { Text } from './text';
import { ConfirmButton } from './confirm';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Run } from './actions';
import { noticeText, reminderExtension, type ReminderExtension } from './notice';
import { useRoute, type Route } from './use-route';
import { Approvals } from './screens/Approvals';
import { Catalog } from './screens/Catalog';
import { History } from './screens/History';
import { Insights } from './screens/Insights';
import { MyAccess } from './screens/MyAccess';
import { Settings } from './screens/Settings';
import { SignIn } from './screens/SignIn';
import { Tray } from './screens/Tray';
import { showWebNotification, tabInBackground, titleFor, useWebNotificationPermission } from './web-notifications';

type Tab = 'catalog' | 'access' | 'approvals' | 'history' | 'insights' | 'settings';

/** The tab a route shows; the hash is the single source of truth for which tab is open. */
function tabOf(route: Route): Tab {
  switch (route.view) {
    case 'access':
    case 'grant':
    case 'request':
      return 'access';
    case 'reviews':
    case 'review':
      return 'approvals';
    case 'history':
      return 'history';
    case 'insights':
      return 'insights';
    case 'settings':
      return 'settings';
    default:
      return 'catalog';
  }
}

const TAB_ROUTES: Record<Tab, Route> = {
  catalog: { view: 'home' },
  access: { view: 'access' },
  approvals: { view: 'reviews' },
  history: { view: 'history' },
  insights: { view: 'insights' },
  settings: { view: 'settings' },
};
const NOTICE_MS = 8000;

interface Toast {
  id: number;
  text: string;
  error: boolean;
  /** A reminder offers to extend when the policy allows (the same call as My access's button). */
  extend?: ReminderExtension;
  /** An approval that waits for its requester offers to start it (the same call as My access's Start). */
  start?: string;
  /** The grant or request it is about: a later toast about the same one replaces it. */
  tag?: string;
}

/** Adds a toast, replacing any earlier one about the same grant or request; at most five stay. */
function addToast(all: Toast[], toast: Toast): Toast[] {
  return [...all.filter((t) => !toast.tag || t.tag !== toast.tag).slice(-4), toast];
}


export function App({ bridge }: { bridge: StintBridge }) {
  const [state, setState] = useState<CoreState | null>(null);
  const { route, hash, navigate } = useRoute();
  // Only auditors and admins have the Insights tab (the server refuses everyone else its
  // figures anyway); a link to it for anyone else shows the catalog.
  const mayAudit = state?.auth.status === 'signed-in' && !!state.auth.user && (state.auth.user.isAuditor || state.auth.user.isAdmin);
  const routed = tabOf(route);
  const tab: Tab = routed === 'insights' && !mayAudit ? 'catalog' : routed;
  const setTab = (next: Tab) => navigate(TAB_ROUTES[next]);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [errors, setErrors] = useState<{ id: number; message: string }[]>([]);
  const nextId = useRef(1);
  const stateRef = useRef<CoreState | null>(null);
  stateRef.current = state;
  const notifications = useWebNotificationPermission();

  // The tab's title counts what waits for the person, so a background tab still says so.
  const reviewCount = state?.auth.status === 'signed-in' ? state.reviewQueue.length : 0;
  const activeCount = state?.auth.status === 'signed-in' ? state.grants.filter((g) => g.state === 'active').length : 0;
  useEffect(() => {
    document.title = titleFor(reviewCount, activeCount);
  }, [reviewCount, activeCount]);

  const dismissToast = useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);

  // Escape dismisses the newest toast (a form open takes Escape for itself first).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      setToasts((all) => all.slice(0, -1));
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    const offState = bridge.onState(setState);
    const offNotice = bridge.onNotice((notice: Notice) => {
      const id = nextId.current++;
      const nameOf = (systemId: string) => stateRef.current?.systems.find((s) => s.id === systemId)?.name ?? systemId;
      const extend = reminderExtension(notice, stateRef.current);
      // A later notice about the same grant replaces its reminder (whose Extend has nothing left to extend once it is wiped).
      const start = notice.kind === 'grant-waiting' && !notice.grant.startAt ? notice.grant.grantId : undefined;
      setToasts((all) => addToast(all, { id, text: noticeText(notice, nameOf), error: notice.kind === 'error', extend, start, tag: noticeTag(notice) }));
      // A tab in the background tells the person through the browser, as the desktop app does.
      if (tabInBackground()) {
        void bridge.call('getSettings', {}).then((settings) => showWebNotification(notice, settings.notifications, nameOf), () => undefined);
      }
      // A reminder with an action stays until it is used or dismissed: it may be read late.
      if (!extend && !start) setTimeout(() => dismissToast(id), NOTICE_MS);
    });
    bridge.call('getState', {}).then(setState, (error: unknown) => showError(error));
    return () => {
      offState();
      offNotice();
    };
  }, [bridge, dismissToast]);

  function showError(error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    const id = nextId.current++;
    setErrors((all) => [...all.slice(-2), { id, message }]);
  }

  const run: Run = useCallback(async (work) => {
    try {
      return await work;
    } catch (error) {
      showError(error);
      return undefined;
    }
  }, []);

  const alerts = (
    <div role="alert" className="alerts">
      {errors.map((e) => (
        <p key={e.id} className="alert">
          <span>{e.message}</span>
          <button type="button" className="link" onClick={() => setErrors((all) => all.filter((x) => x.id !== e.id))} aria-label="Dismiss error">
            ×
          </button>
        </p>
      ))}
    </div>
  );
  const notices = (
    <div role="status" aria-live="polite" className="toasts">
      {toasts.map((t) => (
        <p key={t.id} className={`toast${t.error ? ' toast-error' : ''}`}>
          <span>{t.text}</span>
          {t.extend && (
            <button
              type="button"
              className="secondary"
              onClick={() => {
                dismissToast(t.id);
                void run(bridge.call('extend', { grantId: t.extend!.grantId, durationSeconds: t.extend!.durationSeconds, reason: '' }));
              }}
            >
              Extend {formatDuration(t.extend.durationSeconds)}
            </button>
          )}
          {t.start && (
            <button
              type="button"
              className="secondary"
              onClick={() => {
                dismissToast(t.id);
                void run(bridge.call('start', { grantId: t.start! }));
              }}
            >
              Start now
            </button>
          )}
          <button type="button" className="link" onClick={() => dismissToast(t.id)} aria-label="Dismiss notice">
            ×
          </button>
        </p>
      ))}
    </div>
  );


  const say = (text: string) => {
    const id = nextId.current++;
    setToasts((all) => addToast(all, { id, text, error: false }));
    setTimeout(() => dismissToast(id), NOTICE_MS);
  };
  const props = { bridge, run, say };

  if (route.view === 'tray') {
    return (
      <>
        <Tray {...props} state={state} />
        {alerts}
        {notices}
      </>
    );
  }

  if (!state) {
    return (
      <main className="app centered">
        <p aria-busy="true">Connecting to Stint…</p>
        {alerts}
      </main>
    );
  }

  if (state.auth.status !== 'signed-in') {
    return (
      <>
        <SignIn state={state} bridge={bridge} run={run} />
        {alerts}
        {notices}
      </>
    );
  }

  const tabs: { id: Tab; label: string }[] = [
    { id: 'catalog', label: 'Catalog' },
    { id: 'access', label: `My access${state.grants.some((g) => g.state === 'active') ? ` (${state.grants.filter((g) => g.state === 'active').length})` : ''}` },
    { id: 'approvals', label: `Approvals${state.reviewQueue.length ? ` (${state.reviewQueue.length})` : ''}` },
    { id: 'history', label: 'History' },
    ...(mayAudit ? [{ id: 'insights' as const, label: 'Insights' }] : []),
    { id: 'settings', label: 'Settings' },
  ];

  return (
    <div className="app">
      <header className="topbar">
        <h1 className="brand">Stint</h1>
        <nav aria-label="Sections" className="tabs">
          {tabs.map((t) => (
            <button key={t.id} type="button" className="tab" aria-current={tab === t.id ? 'page' : undefined} onClick={() => setTab(t.id)}>
              {t.label}
            </button>
          ))}
        </nav>
        <div className="who">
          {notifications.permission === 'default' && (
            <button type="button" className="secondary" onClick={notifications.ask}>
              Turn on notifications
            </button>
          )}
          <span className={`dot dot-${state.connection}`} aria-label={`Server ${state.connection}`} role="img" />
          <span>
            <Text value={state.auth.user?.name ?? state.auth.user?.sub ?? ''} />
          </span>
          <ConfirmButton
            ask={activeCount > 0}
            className="secondary"
            question={`Signing out ends ${activeCount === 1 ? 'your live grant' : `your ${activeCount} live grants`} and wipes ${activeCount === 1 ? 'it' : 'them'} from this machine.`}
            confirmText="Sign out"
            onConfirm={() => void run(bridge.call('signOut', {}))}
          >
            Sign out
          </ConfirmButton>
        </div>
      </header>
      {alerts}
      <main className="content">
        {tab === 'catalog' && (
          <Catalog
            {...props}
            // A new link remounts the catalog so its form starts from that link's prefill.
            key={route.view === 'new-request' ? hash : 'catalog'}
            state={state}
            prefill={route.view === 'new-request' ? route.prefill : null}
            onRequested={() => setTab('access')}
            onClosed={() => setTab('catalog')}
          />
        )}
        {tab === 'access' && (
          <MyAccess
            {...props}
            state={state}
            focus={route.view === 'grant' ? { grantId: route.grantId } : route.view === 'request' ? { requestId: route.requestId } : null}
          />
        )}
        {tab === 'approvals' && <Approvals {...props} state={state} focusId={route.view === 'review' ? route.requestId : null} />}
        {tab === 'history' && <History {...props} state={state} />}
        {tab === 'insights' && <Insights {...props} state={state} />}
        {tab === 'settings' && <Settings {...props} />}
      </main>
      {notices}
    </div>
  );
}
