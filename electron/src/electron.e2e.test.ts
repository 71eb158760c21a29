// The desktop app itself, driven by Playwright's _electron, through the same journey as the
// web-mode test: sign in, request from the catalog, a countdown that ticks, and an approval by
// another person reaching the window. Runs when an Electron binary is installed; on machines
// installed with ELECTRON_SKIP_BINARY_DOWNLOAD (CI here) it is skipped, and says so once.
// Needs a keyring session: dbus-run-session -- bash scripts/with-keyring.sh npx vitest run electron/src/electron.e2e.test.ts
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ElectronApplication, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevServer, type DevServer } from '../../test-support/dev-server';
import { electronBinary } from '../electron-binary.mjs';

const binary = electronBinary();
const hasBinary = binary !== null;
if (!hasBinary) console.log('electron e2e skipped: the Electron binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD)');

const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe.skipIf(!hasBinary)('the Electron app: sign in, request, countdown, approval by another person', () => {
  let dev: DevServer;
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    // The app loads what `npm run build` makes: renderer/dist, electron/dist/{main,preload}.cjs.
    execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore', env: { ...process.env, NODE_ENV: 'production' } });
    dev = await startDevServer();
    const dir = mkdtempSync(join(tmpdir(), 'stint-electron-'));
    // The "system browser" shell.openExternal reaches through xdg-open ($BROWSER without a
    // desktop session): Chromium signing alice in at the dev IdP.
    const browser = join(dir, 'browser');
    writeFileSync(browser, `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(REPO, 'test-support/login-browser.ts')}" alice "$1"\n`);
    chmodSync(browser, 0o755);
    const { _electron } = await import('playwright-core');
    app = await _electron.launch({
      executablePath: binary!,
      args: [join(REPO, 'electron')],
      env: {
        ...process.env,
        BROWSER: browser,
        STINT_SERVER_URL: dev.serverUrl,
        STINT_DATA_DIR: join(dir, 'data'),
        STINT_RUNTIME_DIR: join(dir, 'run'),
        STINT_KEYCHAIN_SERVICE: `stint-electron-${process.pid}`,
      },
    });
    page = await app.firstWindow();
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  it('serves the UI from app:// with nothing but the bridge in the page', async () => {
    expect(await app.evaluate(({ app: electronApp }) => electronApp.isReady())).toBe(true);
    expect(page.url()).toMatch(/^app:\/\/stint\/index\.html/);
    expect(await page.evaluate(() => Object.keys((window as unknown as { stint: object }).stint).sort())).toEqual(['call', 'onNotice', 'onState']);
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
  });

  it('signs alice in, requests from the catalog, counts down, and shows bob’s approval', async () => {
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Catalog' }).waitFor({ timeout: 60_000 });

    await page.getByRole('button', { name: 'Request Sandbox for 5m' }).click();
    await page.getByRole('button', { name: 'Submit request' }).click();
    const timer = page.getByRole('listitem', { name: 'Sandbox grant' }).getByRole('timer');
    await timer.waitFor();
    const before = await timer.innerText();
    await expect.poll(() => timer.innerText(), { timeout: 5_000 }).not.toBe(before);

    await page.getByRole('button', { name: 'Catalog' }).click();
    await page.getByRole('button', { name: 'Request Staging database for 15m' }).click();
    await page.getByLabel('Reason (optional)').fill('from the desktop app');
    await page.getByRole('button', { name: 'Submit request' }).click();
    const mine = await dev.api('alice', 'GET', '/v1/requests?scope=mine');
    const pending = (mine.body.requests as { id: string; reason: string }[]).find((r) => r.reason === 'from the desktop app')!;
    const approved = await dev.api('bob', 'POST', `/v1/requests/${pending.id}/reviews`, { decision: 'approve' });
    expect(approved.body.request.state).toBe('active');
    await page.getByRole('listitem', { name: 'Staging database grant' }).waitFor({ timeout: 10_000 });
  }, 120_000);
});
