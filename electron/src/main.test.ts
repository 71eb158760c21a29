// main.ts, the Electron main process, run for real against a named test double of `electron`
// (electron.double.ts), a real core (startHost: the OS keychain on a private gnome-keyring,
// a settings file, the local socket) and the real dev server; Chromium signs the person in at
// the dev IdP when the glue hands the sign-in address to the "system browser".
// Run as: dbus-run-session -- bash scripts/with-keyring.sh npx vitest run electron/src/main.test.ts
//
// What the double cannot tell the truth about, so these tests do not prove it:
// - Real OS notifications: whether macOS, Windows or a Linux notification daemon shows one,
//   with its buttons, and reports a press back as Electron's 'action' event. The double records
//   the Notification the glue made and emits 'action' the way Electron 45 documents it.
// - Real tray rendering: that the icon, title and menu appear in a menu bar, taskbar or
//   AppIndicator, and that a click there calls the item's `click`. The double records the
//   template the glue built and calls `click` as Electron would.
// - Real window drawing: that the renderer loads and draws the form from the URL; the double
//   records the URL (the route's hash is read with the renderer's own parseRoute) and emits
//   'ready-to-show' once after the first load, as Electron does.
// - The OS and Electron's side of a second copy: that requestSingleInstanceLock really finds the
//   first copy and Electron delivers the second's argv to it as 'second-instance'. The double
//   plays both halves (a refused lock; the event with an argv).
// - Sleep itself: 'resume' is emitted by the test, and a connection left dead by sleep is
//   played by a proxy that stops carrying the event stream's bytes (test-support/stall-proxy.ts).
// - Native dialogs: the message box is answered by the test pressing a button by its label.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRoute } from '@stint/contract';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { idpLoginOpener, launchChromium } from '../../test-support/browser';
import { startDevServer, type DevServer } from '../../test-support/dev-server';
import { startStallProxy, type StallProxy } from '../../test-support/stall-proxy';
import { ElectronDouble, type WindowDouble } from './electron.double';
import { CALL_CHANNEL } from './ipc-channels';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const electron = new ElectronDouble(join(REPO, 'electron'));
vi.mock('electron', () => electron.module);

async function until<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sign-ins the browser is still finishing (its last page may load after core has its code). */
const browsing: Promise<void>[] = [];

/** The "system browser": Chromium signing `user` in at the dev IdP, started as the OS would (not awaited). */
function chromiumSignsIn(user: string): (url: string) => void {
  return (url) => {
    browsing.push(
      idpLoginOpener(browser, user)
        .open(url)
        .catch((error: unknown) => console.error(`the browser could not sign ${user} in: ${String(error)}`)),
    );
  };
}

/**
 * Starts main.ts as a fresh app process would: its own data, runtime folder and keychain
 * service; the module state of any earlier run is dropped (vi.resetModules).
 */
async function startApp(name: string, options: { serverUrl: string; user: string; singleInstanceLock?: boolean; platform?: NodeJS.Platform }): Promise<{ dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), `stint-main-${name}-`));
  vi.stubEnv('STINT_SERVER_URL', options.serverUrl);
  vi.stubEnv('STINT_DATA_DIR', join(dir, 'data'));
  vi.stubEnv('STINT_RUNTIME_DIR', join(dir, 'run'));
  vi.stubEnv('STINT_KEYCHAIN_SERVICE', `stint-main-${name}-${process.pid}`);
  // Linux: the autostart entry applyLoginItem keeps goes here, not into this machine's ~/.config.
  vi.stubEnv('XDG_CONFIG_HOME', join(dir, 'config'));
  vi.stubEnv('STINT_LOG_LEVEL', 'warn');
  electron.reset();
  electron.app.singleInstanceLock = options.singleInstanceLock ?? true;
  electron.browser = chromiumSignsIn(options.user);
  vi.resetModules();
  // main.ts reads the platform once, as it starts; nothing else is told a different one for long.
  const real = Object.getOwnPropertyDescriptor(process, 'platform')!;
  if (options.platform) Object.defineProperty(process, 'platform', { ...real, value: options.platform });
  try {
    await import('./main');
  } finally {
    Object.defineProperty(process, 'platform', real);
  }
  electron.app.becomeReady();
  return { dir };
}

/** Waits for boot to reach the tray (made once core has started), failing on boot's error box. */
async function booted(): Promise<void> {
  await until(() => electron.trays.length > 0 || electron.errorBoxes.length > 0, 30_000, 'the app booted');
  if (electron.errorBoxes.length > 0) throw new Error(`the app could not start: ${JSON.stringify(electron.errorBoxes)}`);
}

/** Signs in as a person does: the tray's "Sign in…", then the browser; done when the tray says so and is online. */
async function signInFromTray(): Promise<void> {
  electron.tray.menu().click('Sign in…');
  await until(
    () => {
      const labels = electron.tray.menu().labels();
      const online = labels.some((l) => l.startsWith('Signed in as')) && !labels.includes('Connecting…') && !labels.includes('Offline — retrying');
      return online && labels.some((l) => l.startsWith('Request… › '));
    },
    30_000,
    'the tray says the person is signed in and online, with the catalog',
  );
}

/** Quits as the tray's Quit does, keeping live access if asked (for tests that ended early). */
async function quitApp(): Promise<void> {
  if (electron.app.quitted) return;
  const boxes = electron.messageBoxes.length;
  electron.app.quit();
  await until(() => electron.app.quitted || electron.messageBoxes.length > boxes, 5000, 'the app quit or asked').catch(() => undefined);
  if (electron.messageBoxes.length > boxes) electron.messageBoxes.at(-1)!.press('Keep and quit');
  await until(() => electron.app.quitted, 10_000, 'the app quit').catch(() => undefined);
}

let dev: DevServer;
let browser: Browser;
beforeAll(async () => {
  [dev, browser] = await Promise.all([startDevServer(), launchChromium()]);
  // Each first token is minted by a child process run synchronously: not while an app runs.
  for (const user of ['alice', 'bob']) dev.token(user);
}, 60_000);
afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.race([Promise.all(browsing), new Promise((r) => setTimeout(r, 10_000))]);
  await browser?.close();
  await dev?.stop();
});

const mainWindows = () => electron.windows.filter((w) => w.options.title === 'Stint');
const routeOf = (window: WindowDouble | undefined) => (window?.url ? parseRoute(new URL(window.url).hash) : null);
let callId = 0;
const call = (window: WindowDouble, method: string, input: unknown) => window.webContents.invoke(CALL_CHANNEL, { id: ++callId, method, input }) as Promise<{ ok: boolean; result?: any; error?: any }>;

describe('a second copy of the app', () => {
  // Electron itself hands this copy's argv to the first one (as 'second-instance', below).
  it('quits at once, without starting core', async () => {
    const { dir } = await startApp('second', { serverUrl: 'http://127.0.0.1:9', user: 'bob', singleInstanceLock: false });
    expect(electron.app.lockRequested).toBe(true);
    expect(electron.app.quitCalls).toBe(1);
    expect(electron.app.quitted).toBe(true);
    // No core: boot was never scheduled, nothing listens, nothing was written.
    expect(electron.app.readyAsked).toBe(false);
    expect(electron.app.listenerCount('second-instance')).toBe(0);
    expect(electron.trays).toEqual([]);
    expect(electron.windows).toEqual([]);
    expect(electron.ipcMain.handlers.size).toBe(0);
    expect(existsSync(join(dir, 'run'))).toBe(false);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});

describe('the app on Linux: tray, deep links, wake and quit, with a real core', () => {
  let proxy: StallProxy;

  beforeAll(async () => {
    // Bob's app reaches the server through a proxy, so a test can leave his live event stream
    // dead the way sleep does.
    proxy = await startStallProxy(dev.serverUrl);
    await startApp('bob', { serverUrl: proxy.url, user: 'bob' });
    await booted();
    await signInFromTray();
  }, 60_000);

  afterAll(async () => {
    // A test that failed before quitting leaves core running; stop it as quitting would.
    await quitApp();
    await proxy?.close();
  });

  it('boots as a tray app that shows its window when started by hand', () => {
    expect(electron.app.sandboxEnabled).toBe(true);
    expect(electron.privilegedSchemes).toEqual(['app']);
    expect(electron.ipcMain.handlers.has(CALL_CHANNEL)).toBe(true);
    expect(mainWindows()).toHaveLength(1);
    expect(mainWindows()[0]!.isVisible()).toBe(true);
    expect(routeOf(mainWindows()[0])).toEqual({ view: 'home' });
  });

  it('shows a new grant in the tray menu within a second', async () => {
    // From the tray, a system with no remembered reason opens the form; the form submits.
    electron.tray.menu().click('Request…', 'Sandbox (demo-sandbox)', '5m', 'New reason…');
    const window = mainWindows()[0]!;
    expect(routeOf(window)).toEqual({ view: 'new-request', prefill: { systemId: 'demo-sandbox', durationSeconds: 300, reason: '' } });
    expect(electron.tray.menu().find(/^Sandbox — /)).toBeUndefined();

    const asked = Date.now();
    const reply = call(window, 'request', { systemId: 'demo-sandbox', durationSeconds: 300, reason: 'tray test' });
    await until(() => electron.tray.menu().find(/^Sandbox — \d+m left$/, 'Release now'), 1000, 'the tray menu names the Sandbox grant');
    console.log(`request to tray menu: ${Date.now() - asked} ms`);
    expect((await reply).ok).toBe(true);
    expect(electron.tray.toolTip).toMatch(/^Stint — \d+m left$/);
  });

  it('opens the request form, filled in, for a stint:// link from the OS or from a second copy', async () => {
    // The person closed the window; the tray app runs on.
    mainWindows()[0]!.close();

    const event = electron.app.openUrl('stint://request?system=staging-db&for=1h&reason=INC-42%20disk%20full');
    expect(event.defaultPrevented).toBe(true);
    const window = await until(() => mainWindows().find((w) => !w.isDestroyed()), 1000, 'a window for the link');
    expect(routeOf(window)).toEqual({ view: 'new-request', prefill: { systemId: 'staging-db', durationSeconds: 3600, reason: 'INC-42 disk full' } });
    await until(() => window.isVisible(), 1000, 'the window is shown once ready');

    electron.app.secondInstance(['/opt/Stint/stint', '--no-sandbox', 'stint://request?system=demo-sandbox&for=15m']);
    expect(mainWindows().filter((w) => !w.isDestroyed())).toEqual([window]);
    expect(routeOf(window)).toEqual({ view: 'new-request', prefill: { systemId: 'demo-sandbox', durationSeconds: 900, reason: '' } });
    expect(window.focusCount).toBeGreaterThan(0);

    // A second copy started without a link brings the window forward and keeps what it shows
    // (a form being typed in stays as it is).
    const shown = window.loaded.length;
    const focused = window.focusCount;
    electron.app.secondInstance(['/opt/Stint/stint', '--no-sandbox']);
    expect(window.loaded).toHaveLength(shown);
    expect(window.focusCount).toBeGreaterThan(focused);

    // A link is untrusted input: a bad one fills nothing in and says why.
    const loads = window.loaded.length;
    electron.app.openUrl('stint://request?system=staging-db&approve=yes');
    expect(window.loaded).toHaveLength(loads);
    expect(electron.notifications.at(-1)).toMatchObject({ shown: true, title: 'Stint ignored a link' });
  });

  it('reconnects the event stream at once on resume, so the tray is current without waiting out the stream’s idle timeout', async () => {
    // Asleep: the server's end of the live stream is gone, and the app's socket does not know.
    expect(proxy.stall(/^GET \/v1\/events/)).toBe(1);
    // Alice's requests are withdrawn afterwards, pass or fail: the macOS tests ask for the same systems.
    const withdraw: string[] = [];
    onTestFinished(async () => {
      for (const id of withdraw) await dev.api('alice', 'POST', `/v1/requests/${id}/cancel`);
    });
    const asked = await dev.api('alice', 'POST', '/v1/requests', { systemId: 'staging-db', durationSeconds: 900, reason: 'while bob slept' });
    expect(asked.status).toBe(201);
    withdraw.push(asked.body.request.id);

    electron.powerMonitor.emit('resume');
    await until(() => electron.tray.menu().find('1 waiting for you', /^Alice Adams → Staging database/), 2000, 'the tray lists what was asked during sleep');
    // And what happens next arrives live again (a stream still dead would hold it for 45 s).
    const next = await dev.api('alice', 'POST', '/v1/requests', { systemId: 'payments-admin', durationSeconds: 900, reason: 'refund for a customer' });
    expect(next.status).toBe(201);
    withdraw.push(next.body.request.id);
    await until(() => electron.tray.menu().find('2 waiting for you', /^Alice Adams → Payments admin console/), 2000, 'the tray lists a request made after waking');
  });

  it('asks before quitting with live access: Cancel keeps it running, Release ends the grant at the server and quits', async () => {
    const [grant] = (await dev.api('bob', 'GET', '/v1/grants?active=true')).body.grants;
    expect(grant).toMatchObject({ systemId: 'demo-sandbox', state: 'active' });

    electron.tray.menu().click('Quit Stint');
    const first = await until(() => electron.messageBoxes[0], 2000, 'a quit question');
    expect(first.options).toMatchObject({ message: 'Release your access to demo-sandbox before quitting?', buttons: ['Release and quit', 'Keep and quit', 'Cancel'] });
    // Quit again while the question is open (a second Cmd+Q): still one question.
    electron.tray.menu().click('Quit Stint');
    expect(electron.messageBoxes).toHaveLength(1);
    first.press('Cancel');
    expect(electron.app.quitted).toBe(false);
    // Still running: the window's calls are answered and Quit asks again.
    electron.tray.menu().click('Open Stint');
    const window = mainWindows().find((w) => !w.isDestroyed())!;
    expect(await call(window, 'getState', {})).toMatchObject({ ok: true, result: { auth: { status: 'signed-in' } } });
    electron.tray.menu().click('Quit Stint');
    const second = await until(() => electron.messageBoxes[1], 2000, 'the quit question again');
    expect((await dev.api('bob', 'GET', `/v1/requests/${grant.requestId}`)).body.grant.state).toBe('active');

    second.press('Release and quit');
    await until(() => electron.app.quitted, 10_000, 'the app quit');
    expect((await dev.api('bob', 'GET', `/v1/requests/${grant.requestId}`)).body.grant).toMatchObject({ state: 'ended', endReason: 'released' });
    expect(electron.messageBoxes).toHaveLength(2);
  });
});

describe('the app on macOS, where notifications carry buttons', () => {
  beforeAll(async () => {
    await startApp('carol', { serverUrl: dev.serverUrl, user: 'carol', platform: 'darwin' });
    await booted();
    await signInFromTray();
  }, 60_000);

  afterAll(quitApp);

  it('takes Approve and Deny from a review notification to the server', async () => {
    const reviewNotification = (systemName: string) =>
      until(() => electron.notifications.find((n) => n.shown && n.title === `Review: Alice Adams asks for ${systemName}`), 5000, `a review notification for ${systemName}`);

    const approveMe = (await dev.api('alice', 'POST', '/v1/requests', { systemId: 'staging-db', durationSeconds: 900, reason: 'deploy check' })).body.request;
    const first = await reviewNotification('Staging database');
    expect(first.actions).toEqual(['Approve', 'Deny']);
    first.press('Approve');
    const approved = await until(
      async () => {
        const { body } = await dev.api('alice', 'GET', `/v1/requests/${approveMe.id}`);
        return body.request.state !== 'pending' && body.request;
      },
      5000,
      'the request is decided at the server',
    );
    expect(approved.state).toMatch(/^(approved|active)$/);
    expect(approved.reviews).toMatchObject([{ decision: 'approve', reviewer: { sub: 'carol' } }]);

    const denyMe = (await dev.api('alice', 'POST', '/v1/requests', { systemId: 'payments-admin', durationSeconds: 900, reason: 'refund for a customer' })).body.request;
    (await reviewNotification('Payments admin console')).press('Deny');
    const denied = await until(
      async () => {
        const { body } = await dev.api('alice', 'GET', `/v1/requests/${denyMe.id}`);
        return body.request.state !== 'pending' && body.request;
      },
      5000,
      'the request is decided at the server',
    );
    expect(denied).toMatchObject({ state: 'denied', reviews: [{ decision: 'deny', reviewer: { sub: 'carol' } }] });
  });

  it('starts an approval that waits from its notification’s Start button, and the tray shows the grant', async () => {
    const mine = (await dev.api('carol', 'POST', '/v1/requests', { systemId: 'ops-console', durationSeconds: 1800, reason: 'release 42' })).body.request;
    await dev.api('bob', 'POST', `/v1/requests/${mine.id}/reviews`, { decision: 'approve' });
    const ready = await until(() => electron.notifications.find((n) => n.shown && n.title === 'Approved: Operations console, start when ready'), 5000, 'the start-when-ready notification');
    expect(ready.actions).toEqual(['Start now']);
    expect(electron.tray.menu().labels()).toContain('Operations console for 30m — approved, not started');
    ready.press('Start now');
    await until(() => electron.tray.menu().labels().some((l) => /^Operations console — 30m left$|^Operations console — 29m left$/.test(l)), 5000, 'the started grant in the tray');
    const { body } = await dev.api('carol', 'GET', `/v1/requests/${mine.id}`);
    expect(body.grant).toMatchObject({ state: 'active' });
    await dev.api('carol', 'POST', `/v1/grants/${body.grant.id}/release`);
    await until(() => !electron.tray.menu().labels().some((l) => l.startsWith('Operations console —')), 5000, 'the released grant gone from the tray');
  });

  it('quits without asking when nothing is active', async () => {
    electron.tray.menu().click('Quit Stint');
    await until(() => electron.app.quitted, 10_000, 'the app quit');
    expect(electron.messageBoxes).toEqual([]);
  });
});
