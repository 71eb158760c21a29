// The Electron main process: glue only (DESIGN.md). It builds core with Electron adapters and
// maps core's state onto Tray, Menu, Notification and BrowserWindow. Decisions live in the pure
// modules beside it (tray-menu, notifications, deep-link, security, web-contents), which are
// unit-tested. No Electron binary runs in CI, so main.test.ts runs this file against a named
// test double of `electron` (electron.double.ts), with a real core and the dev server.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { planNotification, recentRequests, routeHash, type BridgePush, type CoreState, type Notice, type NotificationActionId, type NotificationPlan, type Route } from '@stint/contract';
import { createDispatcher, dataDir, startHost, type Host, type StintCore } from '@stint/core';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  nativeTheme,
  Notification,
  powerMonitor,
  protocol,
  screen,
  session,
  shell,
  Tray,
} from 'electron';
import { resolveAppFile } from './app-protocol';
import { deepLinkFromArgv, parseDeepLink, DEEP_LINK_SCHEME } from './deep-link';
import { CALL_CHANNEL, PUSH_CHANNEL } from './ipc-channels';
import { autostartEntry, autostartPath } from './login-item';
import { popoverLinkTarget, popoverPosition } from './popover';
import { quitChoice, quitPrompt } from './quit';
import { APP_ENTRY_URL, APP_ID, APP_SCHEME, isAllowedSignInUrl, windowOptions } from './security';
import { electronSettingsStore } from './settings-store';
import {
  buildTrayMenu,
  DEFAULT_EXTEND_PRESETS_SECONDS,
  menuRefreshDelayMs,
  toMenuTemplate,
  trayIconFile,
  trayIconVariant,
  trayTitle,
  type TrayAction,
} from './tray-menu';
import { createCallHandler, hardenSession, hardenWebContents, type ExternalOpener } from './web-contents';

// Packaged: app.asar holds dist/, renderer/ and assets/tray/ (electron-builder.yml).
// Development (`electron electron`): the app path is electron/, the rest are its siblings.
const appPath = app.getAppPath();
const RENDERER_DIR = app.isPackaged ? join(appPath, 'renderer') : join(appPath, '..', 'renderer', 'dist');
const TRAY_ICON_DIR = app.isPackaged ? join(appPath, 'assets', 'tray') : join(appPath, '..', 'assets', 'tray');
const PRELOAD = join(appPath, 'dist', 'preload.cjs');
const POPOVER_SIZE = { width: 360, height: 520 };
// Read once, at start: a process never changes platform, and main.test.ts starts this file as
// a macOS app (the only platform whose notifications carry buttons) without faking it for
// everything else running in the test process.
const PLATFORM = process.platform;

let host: Host | null = null;
let tray: Tray | null = null;
let mainWindow: BrowserWindow | null = null;
let popover: BrowserWindow | null = null;
let refreshTimer: NodeJS.Timeout | null = null;
let quitConfirmed = false;
/** The quit question on screen, if any: Quit chosen again meanwhile asks nothing more. */
let quitQuestion: Promise<void> | null = null;
/** Links and notices that arrive before core is up are handled once it is. */
const pendingLinks: string[] = [];
const pendingNotices: Notice[] = [];

// Threat: a second copy racing the first over the keychain, the socket and the settings file.
// The second instance hands its argv (a deep link, on Windows and Linux) to the first and exits.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // Windows shows toasts (and their actions) only for an app with this id, the installer's own.
  if (PLATFORM === 'win32') app.setAppUserModelId(APP_ID);
  // Every renderer sandboxed, whatever a window's options say.
  app.enableSandbox();
  // app:// is a standard, secure origin, so the UI gets a real origin (for CSP 'self') without file://.
  // corsEnabled: Vite emits `<script type="module" crossorigin>`, which is fetched in CORS mode.
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } }]);
  app.on('second-instance', (_event, argv) => {
    const link = deepLinkFromArgv(argv);
    if (link) openDeepLink(link);
    else showMainWindow(null);
  });
  // macOS delivers stint:// links here, possibly before `ready`.
  app.on('open-url', (event, url) => {
    event.preventDefault();
    openDeepLink(url);
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, pageLinks));
  app.on('before-quit', (event) => {
    if (quitConfirmed || !host) return;
    event.preventDefault();
    // A second Cmd+Q or tray Quit while the question is open would stack a second dialog,
    // and answering both would release every grant twice.
    quitQuestion ??= confirmQuit(host).finally(() => (quitQuestion = null));
  });
  // A tray app keeps running with every window closed.
  app.on('window-all-closed', () => undefined);
  app.whenReady().then(boot).catch(fatal);
}

/** Links from page content: https only (no IdP exception; sign-in goes through `signInOpener`). */
const pageLinks: ExternalOpener = {
  openExternal: (url) => void shell.openExternal(url),
  idpOrigin: () => null,
  log: (message, url) => console.warn(`stint: ${message}: ${url.slice(0, 200)}`),
};

/**
 * The browser for sign-in: https pages, or a loopback development IdP's own origin
 * (isAllowedSignInUrl names the threat). The issuer is the one core learned for this sign-in.
 */
const signInOpener = {
  async open(url: string): Promise<void> {
    const issuer = host?.core.identityProviderIssuer ?? null;
    if (!isAllowedSignInUrl(url, issuer, host?.core.signOutAddress ?? null)) throw new Error(`Refusing to open the sign-in address: it is not an https page (nor your development identity provider ${issuer ?? ''}). Check the server URL in Stint's settings.`);
    await shell.openExternal(url);
  },
};

async function boot(): Promise<void> {
  hardenSession(session.defaultSession);
  protocol.handle(APP_SCHEME, serveAppFile);
  if (app.isPackaged) app.setAsDefaultProtocolClient(DEEP_LINK_SCHEME);
  const store = electronSettingsStore({ cwd: dataDir() });
  host = await startHost({ opener: signInOpener, notifier: { notify: showNotice }, platform: { store } });
  const core = host.core;

  const dispatch = createDispatcher(core, 'bridge');
  const handleCall = createCallHandler(
    async (method, input) => {
      const reply = await dispatch(method, input);
      if (method === 'updateSettings' && reply.ok) applyLoginItem(core);
      return reply;
    },
    (refused) => console.warn(`stint: refused an IPC call: ${JSON.stringify(refused)}`),
  );
  ipcMain.handle(CALL_CHANNEL, (event, payload: unknown) => handleCall(event, payload));

  core.subscribe((state) => {
    broadcast({ push: 'state', state });
    refreshTray(core);
  });
  core.onNotice((notice) => broadcast({ push: 'notice', notice }));

  // After sleep or a locked screen, deadlines may have passed and the event stream is stale:
  // wipe what is due now, then reconnect and re-read everything from the server.
  const wake = () => void core.wake();
  powerMonitor.on('resume', wake);
  powerMonitor.on('unlock-screen', wake);
  nativeTheme.on('updated', () => refreshTray(core));

  applyLoginItem(core);
  createTray(core);
  // Started by hand: show the window. Started at login (or with --hidden): tray only.
  if (!app.getLoginItemSettings().wasOpenedAtLogin && !process.argv.includes('--hidden')) showMainWindow({ view: 'home' });
  for (const notice of pendingNotices.splice(0)) showNotice(notice);
  for (const link of [...pendingLinks.splice(0), ...[deepLinkFromArgv(process.argv)].filter((l): l is string => l !== null)]) openDeepLink(link);
}

async function serveAppFile(request: Request): Promise<Response> {
  const file = resolveAppFile(RENDERER_DIR, request.url);
  if (!file.ok) return new Response(null, { status: file.status });
  try {
    return new Response(await readFile(file.path), { status: 200, headers: file.headers });
  } catch {
    return new Response(null, { status: 404 });
  }
}

function broadcast(push: ReturnType<typeof BridgePush.parse>): void {
  for (const window of [mainWindow, popover]) {
    if (window && !window.isDestroyed()) window.webContents.send(PUSH_CHANNEL, push);
  }
}

function applyLoginItem(core: StintCore): void {
  const enabled = core.getSettings().startAtLogin;
  if (PLATFORM !== 'linux') {
    app.setLoginItemSettings({ openAtLogin: enabled, args: ['--hidden'] });
    return;
  }
  // Electron has no login items on Linux: an XDG autostart entry does it (login-item.ts).
  const file = autostartPath(process.env, homedir());
  try {
    if (enabled) {
      mkdirSync(dirname(file), { recursive: true });
      const command = process.env.APPIMAGE ? [process.env.APPIMAGE] : app.isPackaged ? [process.execPath] : [process.execPath, app.getAppPath()];
      writeFileSync(file, autostartEntry(command));
    } else {
      rmSync(file, { force: true });
    }
  } catch (error) {
    showNotice({ kind: 'error', message: `Could not ${enabled ? 'add Stint to' : 'remove Stint from'} the programs started at login (${(error as Error).message}); check ${dirname(file)}.` });
  }
}

// ---- tray -------------------------------------------------------------------------------

function trayImage(state: CoreState): Electron.NativeImage {
  const file = trayIconFile(trayIconVariant(state, Date.now()), PLATFORM, nativeTheme.shouldUseDarkColors);
  const image = nativeImage.createFromPath(join(TRAY_ICON_DIR, file));
  if (PLATFORM === 'darwin') image.setTemplateImage(true);
  return image;
}

function createTray(core: StintCore): void {
  tray = new Tray(trayImage(core.getState()));
  tray.setToolTip('Stint');
  // Linux (AppIndicator) only shows a context menu; elsewhere a click opens the popover and
  // a right-click the menu.
  if (PLATFORM !== 'linux') {
    tray.on('click', () => togglePopover());
    tray.on('right-click', () => tray?.popUpContextMenu(trayMenu(core)));
  }
  refreshTray(core);
}

function trayMenu(core: StintCore): Electron.Menu {
  const state = core.getState();
  const { pinned } = core.getSettings();
  const items = buildTrayMenu(state, { now: Date.now(), pinned, recent: recentRequests(state, pinned) });
  return Menu.buildFromTemplate(toMenuTemplate(items, (action) => void runAction(core, action)));
}

function refreshTray(core: StintCore): void {
  if (!tray) return;
  const state = core.getState();
  const now = Date.now();
  tray.setImage(trayImage(state));
  if (PLATFORM === 'darwin') tray.setTitle(trayTitle(state, now));
  tray.setToolTip(trayTitle(state, now) ? `Stint — ${trayTitle(state, now)} left` : 'Stint');
  if (PLATFORM === 'linux') tray.setContextMenu(trayMenu(core));
  // Countdown labels change with time, not only with state: rebuild at least every minute.
  if (refreshTimer) clearTimeout(refreshTimer);
  const delay = menuRefreshDelayMs(state, now);
  refreshTimer = delay === null ? null : setTimeout(() => refreshTray(core), delay);
}

async function runAction(core: StintCore, action: TrayAction): Promise<void> {
  try {
    switch (action.kind) {
      case 'sign-in':
        return await core.signIn();
      case 'cancel-sign-in':
        return core.cancelSignIn();
      case 'sign-out':
        return await core.signOut();
      case 'release':
        return await core.release(action.grantId);
      case 'start':
        await core.startGrant(action.grantId);
        return;
      case 'extend':
        await core.extend({ grantId: action.grantId, durationSeconds: action.durationSeconds });
        return;
      case 'request':
        await core.request({ systemId: action.systemId, durationSeconds: action.durationSeconds, reason: action.reason, ...(action.ticket ? { ticket: action.ticket } : {}) });
        return;
      case 'request-form':
        return showMainWindow({ view: 'new-request', prefill: action });
      case 'review':
        await core.review({ requestId: action.requestId, decision: action.decision });
        return;
      case 'open':
        return showMainWindow({ view: action.view });
      case 'quit':
        return app.quit();
    }
  } catch (error) {
    showPlan({ title: 'Stint could not do that', body: error instanceof Error ? error.message : String(error), actions: [], urgency: 'normal', onClick: { view: 'home' } }, core);
  }
}

// ---- windows ----------------------------------------------------------------------------

/**
 * Shows the main window at a route; with none (a second copy started without a link), only
 * brings the window forward, so whatever the person was typing in it stays.
 */
function showMainWindow(route: Route | null): void {
  if (route === null && mainWindow && !mainWindow.isDestroyed()) {
    mainWindow.show();
    mainWindow.focus();
    return;
  }
  if (!mainWindow || mainWindow.isDestroyed()) {
    mainWindow = new BrowserWindow({ width: 1040, height: 720, minWidth: 720, minHeight: 480, show: false, title: 'Stint', ...windowOptions(PRELOAD, { packaged: app.isPackaged }) });
    mainWindow.once('ready-to-show', () => mainWindow?.show());
    mainWindow.on('closed', () => (mainWindow = null));
  }
  void mainWindow.loadURL(`${APP_ENTRY_URL}${routeHash(route ?? { view: 'home' })}`);
  if (mainWindow.isVisible()) mainWindow.focus();
}

function togglePopover(): void {
  if (popover && !popover.isDestroyed() && popover.isVisible()) return popover.hide();
  if (!popover || popover.isDestroyed()) {
    popover = new BrowserWindow({
      ...POPOVER_SIZE,
      show: false,
      frame: false,
      resizable: false,
      movable: false,
      skipTaskbar: true,
      alwaysOnTop: true,
      fullscreenable: false,
      ...windowOptions(PRELOAD, { packaged: app.isPackaged }),
    });
    popover.on('blur', () => popover?.hide());
    // Links in the popover open in the main window; the popover goes back to its tray view.
    popover.webContents.on('did-navigate-in-page', (_event, url) => {
      const target = popoverLinkTarget(url);
      if (!target || !popover) return;
      popover.hide();
      void popover.loadURL(`${APP_ENTRY_URL}${routeHash({ view: 'tray' })}`);
      showMainWindow(target);
    });
    popover.on('closed', () => (popover = null));
    void popover.loadURL(`${APP_ENTRY_URL}${routeHash({ view: 'tray' })}`);
  }
  if (tray) {
    const bounds = tray.getBounds();
    const { workArea } = screen.getDisplayMatching(bounds);
    const { x, y } = popoverPosition(bounds, POPOVER_SIZE, workArea);
    popover.setPosition(x, y);
  }
  popover.show();
  popover.focus();
}

// ---- deep links and notifications -------------------------------------------------------

function openDeepLink(url: string): void {
  if (!host) {
    pendingLinks.push(url);
    return;
  }
  const result = parseDeepLink(url);
  if (!result.ok) {
    showPlan({ title: 'Stint ignored a link', body: result.error, actions: [], urgency: 'normal', onClick: { view: 'home' } }, host.core);
    return;
  }
  // Prefill only: the person reads the form and submits it themselves (see deep-link.ts).
  showMainWindow({ view: 'new-request', prefill: result.link });
}

function showNotice(notice: Notice): void {
  if (!host) {
    pendingNotices.push(notice);
    return;
  }
  const { systems } = host.core.getState();
  const nameOf = (id: string) => systems.find((s) => s.id === id)?.name ?? id;
  const plan = planNotification(notice, host.core.getSettings().notifications, PLATFORM, nameOf);
  if (plan) showPlan(plan, host.core, notice);
}

/** The notification on screen for each tag: a grant's expiry receipt replaces its reminder. */
const shownByTag = new Map<string, Notification>();

function showPlan(plan: Omit<NotificationPlan, 'tag'> & { tag?: string }, core: StintCore, notice?: Notice): void {
  if (!Notification.isSupported()) return;
  const notification = new Notification({
    title: plan.title,
    body: plan.body,
    urgency: plan.urgency,
    actions: plan.actions.map((action) => ({ type: 'button' as const, text: action.text })),
  });
  notification.on('click', () => showMainWindow(plan.onClick));
  notification.on('action', (_event, index) => {
    const id = plan.actions[index]?.id;
    if (id && notice) void runNotificationAction(core, id, notice);
  });
  if (plan.tag) {
    shownByTag.get(plan.tag)?.close();
    shownByTag.set(plan.tag, notification);
    const forget = () => {
      if (shownByTag.get(plan.tag!) === notification) shownByTag.delete(plan.tag!);
    };
    notification.on('close', forget);
    notification.on('click', forget);
  }
  notification.show();
}

async function runNotificationAction(core: StintCore, id: NotificationActionId, notice: Notice): Promise<void> {
  if ((id === 'approve' || id === 'deny') && notice.kind === 'review-requested') {
    return runAction(core, { kind: 'review', requestId: notice.request.id, decision: id });
  }
  if (id === 'extend' && notice.kind === 'grant-reminder') {
    const system = core.getState().systems.find((s) => s.id === notice.grant.systemId);
    const seconds = system?.durationPresetsSeconds[0] ?? DEFAULT_EXTEND_PRESETS_SECONDS[0];
    return runAction(core, { kind: 'extend', grantId: notice.grant.grantId, durationSeconds: seconds });
  }
  if (id === 'start' && notice.kind === 'grant-waiting') return runAction(core, { kind: 'start', grantId: notice.grant.grantId });
  showMainWindow({ view: 'home' });
}

// ---- quitting ---------------------------------------------------------------------------

async function confirmQuit(current: Host): Promise<void> {
  const prompt = quitPrompt(current.core.getState(), Date.now());
  if (prompt) {
    const { response } = await dialog.showMessageBox({
      type: 'question',
      message: prompt.message,
      detail: prompt.detail,
      buttons: prompt.buttons,
      defaultId: prompt.defaultId,
      cancelId: prompt.cancelId,
    });
    const choice = quitChoice(response);
    if (choice === 'cancel') return;
    if (choice === 'release') {
      const results = await Promise.allSettled(prompt.grantIds.map((grantId) => current.core.release(grantId)));
      const failed = results.filter((r) => r.status === 'rejected').length;
      if (failed > 0) {
        const { response: again } = await dialog.showMessageBox({
          type: 'warning',
          message: `${failed} grant(s) could not be released.`,
          detail: 'They stay usable until their deadline, when the server revokes them.',
          buttons: ['Quit anyway', 'Cancel'],
          defaultId: 1,
          cancelId: 1,
        });
        if (again !== 0) return;
      }
    }
  }
  quitConfirmed = true;
  if (refreshTimer) clearTimeout(refreshTimer);
  await current.close().catch((error: unknown) => console.error('stint: shutting core down failed', error));
  app.quit();
}

function fatal(error: unknown): void {
  dialog.showErrorBox('Stint could not start', error instanceof Error ? error.message : String(error));
  app.exit(1);
}
