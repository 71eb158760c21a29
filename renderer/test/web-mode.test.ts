// The renderer in a real browser against a real `stint agent --web` and dev server: alice signs
// in, gets an auto-approved grant with a live countdown, asks for staging-db, and bob approves
// it from his own agent's UI. Run: dbus-run-session -- bash scripts/with-keyring.sh npx vitest run renderer/test
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../test-support/agent';
import { startDevServer, type DevServer } from '../../test-support/dev-server';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = join(REPO, 'e2e/artifacts/screenshots');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let server: DevServer;
let alice: Agent;
let bob: Agent;
let browser: Browser;
const cspViolations: string[] = [];


async function openUi(agent: Agent): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  await page.goto(await agent.webLink());
  return page;
}

async function screenshots(page: Page, name: string) {
  for (const theme of ['light', 'dark'] as const) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await page.screenshot({ path: join(SHOTS, `${name}-${theme}.png`), fullPage: true });
  }
  await page.evaluate(() => delete document.documentElement.dataset.theme);
}

const visible = (locator: Locator, timeout = 15_000) => locator.first().waitFor({ state: 'visible', timeout });
const gone = (locator: Locator, timeout = 15_000) => expect.poll(() => locator.count(), { timeout }).toBe(0);
const text = (locator: Locator, timeout = 15_000) => expect.poll(async () => ((await locator.count()) ? ((await locator.first().textContent()) ?? '') : ''), { timeout });

/** Presses Tab until the focused control's text or label matches, as a keyboard user would. */
async function tabTo(page: Page, name: RegExp, presses = 60): Promise<void> {
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? `${el.getAttribute('aria-label') ?? ''} ${el.innerText ?? ''} ${(el as HTMLInputElement).labels?.[0]?.innerText ?? ''}`.trim() : '';
    });
    if (name.test(focused)) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

async function signIn(page: Page) {
  await page.getByRole('button', { name: 'Sign in' }).click();
  await visible(page.getByRole('heading', { name: 'Catalog' }), 45_000);
}

describe('the renderer in web mode', () => {
  beforeAll(async () => {
    // vitest sets NODE_ENV=test, which would make vite bundle React's development build.
    execFileSync('npm', ['run', 'build', '-w', '@stint/renderer'], { cwd: REPO, stdio: 'ignore', env: { ...process.env, NODE_ENV: 'production' } });
    mkdirSync(SHOTS, { recursive: true });
    // Read by `stint agent --web` (cli/src/agent/index.ts) to find the built UI.
    process.env.STINT_RENDERER_DIR = join(REPO, 'renderer/dist');
    server = await startDevServer();
    [alice, bob] = await Promise.all([
      startAgent({ serverUrl: server.serverUrl, user: 'alice', web: true }),
      startAgent({ serverUrl: server.serverUrl, user: 'bob', web: true }),
    ]);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, headless: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([alice?.stop(), bob?.stop()]);
    await server?.stop();
  });

  it('takes alice from sign-in to a live grant, and shows bob’s approval', { timeout: 180_000 }, async () => {
    const page = await openUi(alice);
    await visible(page.getByRole('button', { name: 'Sign in' }));
    // The per-launch token leaves the address bar once read, and nothing goes to web storage.
    expect(page.url()).not.toContain('token');
    await screenshots(page, 'sign-in');
    await signIn(page);

    const sandbox = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Sandbox' }) });
    const staging = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Staging database' }) });
    await text(sandbox).toContain('low risk');
    await text(staging).toContain('needs 1 approval from sre-leads');
    await page.getByRole('searchbox', { name: 'Search systems' }).fill('staging');
    await gone(sandbox);
    expect(await staging.count()).toBe(1);
    await page.getByRole('searchbox', { name: 'Search systems' }).fill('');
    await screenshots(page, 'catalog');

    // demo-sandbox for 5m is approved at once: a grant with a ticking countdown.
    await page.getByRole('button', { name: 'Request Sandbox for 5m' }).click();
    await visible(page.getByText('This request will be approved at once.'));
    await page.getByLabel('Reason (optional)').fill('try the web UI');
    await screenshots(page, 'request-form');
    await page.getByRole('button', { name: 'Submit request' }).click();
    const grant = page.getByRole('listitem', { name: 'Sandbox grant' });
    await visible(grant);
    const timer = grant.getByRole('timer');
    const before = await timer.innerText();
    expect(before).toMatch(/^[45]:\d\d left$/);
    await text(timer, 3_000).not.toBe(before);
    await visible(grant.getByRole('button', { name: 'Release' }));
    await visible(grant.getByRole('button', { name: /^Extend/ }));

    // staging-db needs a review: it waits as pending in My requests.
    await page.getByRole('button', { name: 'Catalog' }).click();
    await page.getByRole('button', { name: 'Request Staging database for 15m' }).click();
    await page.getByLabel('Reason (optional)').fill('migrate the orders table');
    await page.getByRole('button', { name: 'Submit request' }).click();
    const mine = page.getByRole('list', { name: 'My requests' }).getByRole('listitem').filter({ hasText: 'Staging database' });
    await text(mine).toContain('pending');
    await screenshots(page, 'my-access');

    // Bob, on his own agent, approves it from his inbox, with the keyboard alone.
    const bobPage = await openUi(bob);
    await signIn(bobPage);
    await tabTo(bobPage, /^Approvals/);
    await bobPage.keyboard.press('Enter');
    const review = bobPage.getByRole('listitem').filter({ hasText: 'migrate the orders table' });
    await visible(review);
    await tabTo(bobPage, /Comment \(optional\)/);
    await bobPage.keyboard.type('go ahead');
    await screenshots(bobPage, 'approvals');
    await tabTo(bobPage, /^Approve$/);
    await bobPage.keyboard.press('Enter');
    await visible(bobPage.getByText('Nothing waits for your review.'));

    // Alice's UI learns of it through the agent's push: the grant appears without a reload.
    await visible(page.getByRole('listitem', { name: 'Staging database grant' }));
    await text(mine).toContain('active');
    await text(page.getByRole('status'), 5_000).toContain('Access to Staging database is active'); // names, as the cards use

    await page.getByRole('button', { name: 'History' }).click();
    await text(page.getByRole('table')).toContain('Staging database');
    await screenshots(page, 'history');
    await page.getByRole('button', { name: 'Settings' }).click();
    await text(page.locator('pre')).toBe('eval "$(stint hook bash)"\neval "$(stint hook zsh)"\nstint hook fish | source');
    await expect.poll(() => page.getByLabel('Server URL').inputValue()).toBe(server.serverUrl);
    await screenshots(page, 'settings');

    // Release asks first, then ends the grant at once (both, so staging-db can be asked for again).
    await page.getByRole('button', { name: /^My access/ }).click();
    for (const name of ['Sandbox grant', 'Staging database grant']) {
      await page.getByRole('listitem', { name }).getByRole('button', { name: 'Release' }).click();
      await page.getByRole('listitem', { name }).getByRole('button', { name: 'Release now' }).click();
      await gone(page.getByRole('listitem', { name }));
    }

    // A `#/request?...` link (a stint:// deep link, via main) only prefills the form; nothing is
    // requested until alice clicks Submit herself.
    const myRequests = page.getByRole('list', { name: 'My requests' }).getByRole('listitem');
    const requestsBefore = await myRequests.count();
    await page.evaluate(() => (location.hash = '#/request?system=staging-db&for=900s&reason=from%20a%20link'));
    await visible(page.getByRole('heading', { name: 'Request Staging database' }));
    await expect.poll(() => page.getByLabel('Duration').inputValue()).toBe('900');
    expect(await page.getByLabel('Duration').locator('option:checked').textContent()).toBe('15m');
    await expect.poll(() => page.getByLabel('Reason (optional)').inputValue()).toBe('from a link');
    await page.getByRole('button', { name: /^My access/ }).click();
    expect(page.url()).toMatch(/#\/access$/);
    await text(page.getByRole('heading', { name: 'My requests' })).toBe('My requests');
    expect(await myRequests.count()).toBe(requestsBefore);
    await page.evaluate(() => (location.hash = '#/request?system=staging-db&for=900s&reason=from%20a%20link'));
    await page.getByRole('button', { name: 'Submit request' }).click();
    await expect.poll(() => myRequests.count()).toBe(requestsBefore + 1);
    await text(myRequests.filter({ hasText: 'from a link' })).toContain('pending');

    // A request pinned from the form becomes a one-click entry (the tray menu's "Pinned"),
    // listed in Settings, where it can be unpinned.
    await page.getByRole('button', { name: 'Catalog' }).click();
    await page.getByRole('button', { name: 'Request Sandbox for 5m' }).click();
    await page.getByLabel('Reason (optional)').fill('daily check');
    await page.getByLabel('Pin to the tray menu').check();
    await page.getByRole('button', { name: 'Submit request' }).click();
    await visible(page.getByRole('listitem', { name: 'Sandbox grant' }));
    await page.getByRole('button', { name: 'Settings' }).click();
    const pinned = page.getByRole('list', { name: 'Pinned requests' }).getByRole('listitem');
    await text(pinned).toBe('demo-sandbox for 5m — daily checkUnpin');
    await screenshots(page, 'settings-pinned');
    await pinned.getByRole('button', { name: 'Unpin demo-sandbox' }).click();
    await visible(page.getByText('None yet.', { exact: false }));

    // The tray popover's view (what Electron shows beside the tray icon).
    const popover = await (await browser.newContext({ viewport: { width: 360, height: 520 } })).newPage();
    await popover.goto(await alice.webLink());
    await visible(popover.getByRole('heading', { name: 'Catalog' }));
    await popover.evaluate(() => (location.hash = '#/tray'));
    await visible(popover.getByRole('link', { name: 'Open Stint' }));
    await screenshots(popover, 'tray-popover');

    expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
    expect(cspViolations).toEqual([]);
  });
});
