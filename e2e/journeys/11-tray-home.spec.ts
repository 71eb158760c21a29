// Journey 11: a working day from the tray popover, in the browser. Bob's tab is in the
// background when Alice asks for access: the browser notifies him and the tab's title counts
// it; a click on the notification opens the card. He approves from the popover. Alice finds
// the grant there with its ring, how to use it on its card, and ends it from the keyboard after
// a confirmation. axe-core finds nothing on any screen along the way.
import type { Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { axeViolations, expect, openTab, openUi, snap, stintJson, test, until } from '../stack';

interface SeenNotification {
  title: string;
  body: string;
  tag: string;
}

/**
 * Records what the page hands the browser's Notification API (and still hands it on), and lets
 * the test say whether the tab has the person's focus: a headless browser has no window focus.
 */
const NOTIFICATION_SPY = () => {
  const seen: (SeenNotification & { onclick: (() => void) | null })[] = [];
  const Real = window.Notification;
  let focused = true;
  Object.assign(window, { __seen: seen, __setFocused: (value: boolean) => (focused = value) });
  document.hasFocus = () => focused;
  class Recorded {
    static get permission() {
      return Real.permission;
    }
    static requestPermission() {
      return Real.requestPermission();
    }
    onclick: (() => void) | null = null;
    constructor(title: string, options: NotificationOptions = {}) {
      seen.push(Object.assign(this, { title, body: options.body ?? '', tag: options.tag ?? '' }));
      try {
        new Real(title, options);
      } catch {
        // Headless Chromium may refuse to show it; what the page asked for is recorded above.
      }
    }
    close() {}
  }
  Object.assign(window, { Notification: Recorded });
};

const seen = (page: Page) => page.evaluate(() => (window as unknown as { __seen: SeenNotification[] }).__seen.map(({ title, body, tag }) => ({ title, body, tag })));

async function expectNoAxeViolations(page: Page, screen: string) {
  expect(await axeViolations(page), `axe-core on ${screen}`).toEqual([]);
}

test('bob is notified in a background tab and approves from the popover; alice ends her grant from it, after a confirmation', async ({ stack, browser }) => {
  const { alice, bob } = stack.people;
  await stack.ensureSignedIn('alice');
  await stack.ensureSignedIn('bob');

  // Bob turns notifications on with a click (browsers ask only on a gesture), then looks away.
  const bobPage = await openUi(browser, bob, { beforeLoad: (page) => page.addInitScript(NOTIFICATION_SPY) });
  await expect(bobPage.getByRole('heading', { name: 'Catalog' })).toBeVisible();
  await bobPage.context().grantPermissions(['notifications']);
  await bobPage.getByRole('button', { name: 'Turn on notifications' }).click();
  await expect(bobPage.getByRole('button', { name: 'Turn on notifications' })).toHaveCount(0);
  await expectNoAxeViolations(bobPage, 'the catalog');
  await bobPage.evaluate(() => (window as unknown as { __setFocused(value: boolean): void }).__setFocused(false));

  const request = stintJson<{ id: string; state: string }>(alice, ['request', 'staging-db', '--for', '15m', '--reason', 'check the nightly import']);
  expect(request.state).toBe('pending');
  const note = await until('a browser notification for the review', async () => (await seen(bobPage)).find((n) => n.tag === `request:${request.id}`));
  expect(note).toEqual({ title: 'Review: Alice Adams asks for Staging database', body: '15m — “check the nightly import”', tag: `request:${request.id}` });
  await expect(bobPage).toHaveTitle(/^\(\d+ to review\) Stint$/);

  // A click on the notification opens the card in the tab.
  await bobPage.evaluate(() => (window as unknown as { __seen: { onclick: (() => void) | null }[] }).__seen.at(-1)?.onclick?.());
  const card = bobPage.getByRole('listitem', { name: 'Alice Adams requests Staging database' });
  await expect(card).toHaveAttribute('aria-current', 'true');
  await expectNoAxeViolations(bobPage, 'the approvals inbox');

  // The popover: the review is there with Approve and Deny.
  const bobTray = await openTab(bobPage, '#/tray');
  const waiting = bobTray.getByRole('listitem', { name: 'Alice Adams requests Staging database' });
  await expect(waiting).toContainText('check the nightly import');
  await expectNoAxeViolations(bobTray, 'the popover with a review');
  await snap(bobTray, '11-popover-review');
  await waiting.getByRole('button', { name: 'Approve' }).click();
  await expect(bobTray.getByText(/^Approved Alice Adams's request for Staging database; it is now (approved|active)\.$/)).toBeVisible();

  // Alice's popover: the grant, its ring, Extend and Release.
  const alicePage = await openUi(browser, alice);
  await expect(alicePage.getByRole('heading', { name: 'Catalog' })).toBeVisible(); // the page is on its session's address
  await alicePage.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const aliceTray = await openTab(alicePage, '#/tray');
  const grantRow = aliceTray.getByRole('listitem', { name: 'Staging database grant' });
  await expect(grantRow.getByRole('timer')).toHaveText(/^1[45]:\d\d left$/);
  await expect(grantRow.getByRole('button', { name: /^Extend / })).toBeVisible();
  // A second request for a system she has live access to is refused, with a pointer to Extend.
  const again = alice.stint(['request', 'staging-db', '--for', '15m', '--reason', 'again']);
  expect(again.status).toBe(4);
  expect(again.stderr).toMatch(/already have access to Staging database for another \d+ min; extend it instead/);
  await expectNoAxeViolations(aliceTray, 'the popover with a grant');
  await snap(aliceTray, '11-popover-grant');

  // Her grant card says how to use it, with a copy button.
  await alicePage.getByRole('button', { name: /^My access/ }).click();
  const card2 = alicePage.getByRole('listitem', { name: 'Staging database grant' });
  await expect(card2.getByRole('textbox', { name: 'In any shell' })).toHaveValue('stint exec staging-db -- <command>');
  await card2.getByRole('button', { name: 'Copy: In any shell' }).click();
  await expect(card2.getByText('Copied.')).toBeVisible();
  expect(await alicePage.evaluate(() => navigator.clipboard.readText())).toBe('stint exec staging-db -- <command>');
  await expectNoAxeViolations(alicePage, 'my access with a grant');
  await snap(alicePage, '11-grant-card');

  // Sign out with a live grant asks first; Escape keeps her signed in.
  await alicePage.getByRole('button', { name: 'Sign out' }).click();
  const question = alicePage.getByRole('group', { name: /^Signing out ends your live grant/ });
  await expect(question).toBeVisible();
  await expect(question.getByRole('button', { name: 'Sign out' })).toBeFocused();
  await expectNoAxeViolations(alicePage, 'the sign-out question');
  await alicePage.keyboard.press('Escape');
  await expect(question).toHaveCount(0);
  await expect(alicePage.getByRole('button', { name: 'Sign out' })).toBeFocused();

  // Every other screen, as she has it now.
  for (const tab of ['Catalog', 'Approvals', 'History', 'Settings']) {
    await alicePage.getByRole('button', { name: new RegExp(`^${tab}`) }).click();
    await expect(alicePage.getByRole('heading', { level: 2 }).first()).toBeVisible();
    await expectNoAxeViolations(alicePage, tab);
  }

  // Release from the popover by keyboard: asks, Escape keeps, Enter twice ends it.
  const release = grantRow.getByRole('button', { name: 'Release' });
  await release.focus();
  await aliceTray.keyboard.press('Enter');
  const confirm = grantRow.getByRole('group', { name: 'End Staging database now?' });
  await expect(confirm.getByRole('button', { name: 'Release now' })).toBeFocused();
  await aliceTray.keyboard.press('Escape');
  await expect(confirm).toHaveCount(0);
  await expect(release).toBeFocused();
  await aliceTray.keyboard.press('Enter');
  await expect(confirm.getByRole('button', { name: 'Release now' })).toBeFocused();
  await aliceTray.keyboard.press('Enter');
  await expect(aliceTray.getByText('No active access.')).toBeVisible();
  await expect(aliceTray.getByText(/^Access to Staging database ended: you released it\./)).toBeVisible();
  await expectNoAxeViolations(aliceTray, 'the popover after release');
  expect(stintJson<{ systemId: string }[]>(alice, ['grants']).some((g) => g.systemId === 'staging-db')).toBe(false);

  // Her history says who approved it, filters by system, and exports what it shows.
  await alicePage.getByRole('button', { name: 'History' }).click();
  await alicePage.getByLabel('System').selectOption({ label: 'Staging database' });
  const row = alicePage.getByRole('row').filter({ hasText: 'check the nightly import' });
  await expect(row).toContainText('Bob Baker');
  await expect(alicePage.getByRole('row').filter({ hasText: 'Production database' })).toHaveCount(0);
  await snap(alicePage, '11-history');
  const [download] = await Promise.all([alicePage.waitForEvent('download'), alicePage.getByRole('button', { name: 'Export CSV' }).click()]);
  const csv = readFileSync((await download.path())!, 'utf8').split('\r\n');
  expect(csv[0]).toBe('requested_at,system_id,system,duration_seconds,asked_seconds,state,decided_by,reason,ticket,request_id,used_seconds,granted_seconds');
  expect(csv.filter((line) => line.includes(request.id))).toEqual([expect.stringContaining(',staging-db,Staging database,900,,')]);
  expect(csv.slice(1).filter(Boolean).every((line) => line.includes(',staging-db,'))).toBe(true);
});
