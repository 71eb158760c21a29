// Journey 13: the auditor's Insights screen. Alice asks for staging access twice (Bob approves
// one, Carol denies the other) and takes a sandbox grant she gives back early. Dana, admin and
// auditor, opens Insights in her browser: the figures are drawn and tabled, she narrows them to
// Staging database, follows the "denied" number to its audit rows, and axe-core finds nothing.
// Alice, an engineer, has no Insights tab; her history says how much of her grants she used.
import type { Page } from '@playwright/test';
import { axeViolations, expect, grantFor, openUi, snap, startPersonAgent, stintJson, test } from '../stack';

interface RequestJson {
  id: string;
  state: string;
}

async function expectNoAxeViolations(page: Page, screen: string) {
  expect(await axeViolations(page), `axe-core on ${screen}`).toEqual([]);
}

test('dana reads the figures, filters by system and follows a number to its audit rows; alice has no Insights', async ({ stack, browser }) => {
  test.setTimeout(180_000);
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  await stack.ensureSignedIn('bob');
  await stack.ensureSignedIn('carol');
  // An earlier journey may have left her a live staging grant; a new request would be refused.
  if (stintJson<{ systemId: string }[]>(alice, ['grants']).some((g) => g.systemId === 'staging-db')) expect(alice.stint(['release', 'staging-db']).status).toBe(0);

  // Approved by Bob, then given back early.
  const approved = stintJson<RequestJson>(alice, ['request', 'staging-db', '--for', '15m', '--reason', 'insights: check the import']);
  expect(stack.review('bob', approved.id, 'approve').status).toBe(0);
  await grantFor(alice, approved.id);
  expect(alice.stint(['release', 'staging-db']).status).toBe(0);
  // Denied by Carol.
  const denied = stintJson<RequestJson>(alice, ['request', 'staging-db', '--for', '15m', '--reason', 'insights: drop a table']);
  expect(stack.review('carol', denied.id, 'deny', 'not this week').status).toBe(0);
  // Approved by policy, given back at once.
  const sandbox = stintJson<RequestJson>(alice, ['request', 'demo-sandbox', '--for', '15m', '--reason', 'insights: sandbox']);
  await grantFor(alice, sandbox.id);
  stack.remember(stintJson<Record<string, string>>(alice, ['env', 'demo-sandbox']).SANDBOX_TOKEN!);
  expect(alice.stint(['release', 'demo-sandbox']).status).toBe(0);

  const dana = await startPersonAgent(stack, 'dana');
  try {
    const page = await openUi(browser, dana);
    await page.getByRole('button', { name: 'Insights', exact: true }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Insights' })).toBeVisible();

    // Every figure is drawn (a canvas, an image with its name) and has a table with its numbers.
    const daily = page.getByRole('figure', { name: 'Staging database' }).first();
    await expect(daily.getByRole('img', { name: /^Line chart of Requests, Grants by Day \(UTC\), Staging database\./ })).toBeVisible();
    await expect(daily.locator('canvas').first()).toBeVisible();
    await expect(page.getByRole('figure', { name: 'Sandbox' }).first()).toBeVisible();
    const outcomes = page.getByRole('figure', { name: 'What became of the requests' });
    await expect(outcomes.getByRole('img', { name: /^Bar chart of Approved by review, .*Denied, Expired unreviewed/ })).toBeVisible();
    await expect(page.getByRole('figure', { name: 'By system' })).toBeVisible();
    await expect(page.getByRole('figure', { name: 'By approver group' })).toBeVisible();
    await expect(page.getByRole('figure', { name: 'How grants ended' }).getByRole('row', { name: /^Sandbox / })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Top requesters' })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Policy suggestions' })).toBeVisible();
    await expectNoAxeViolations(page, 'Insights, all systems');

    // Narrowed to Staging database: the sandbox leaves every figure.
    await page.getByRole('combobox', { name: 'System' }).selectOption({ label: 'Staging database' });
    await page.getByRole('button', { name: 'Show' }).click();
    await expect(page.getByText(/, system staging-db\./)).toBeVisible();
    await expect(page.getByRole('figure', { name: 'Sandbox' })).toHaveCount(0);
    const row = outcomes.getByRole('row', { name: /^Staging database / });
    await expect(row).toBeVisible();
    await expect(outcomes.getByRole('row')).toHaveCount(2); // the header and Staging database

    // The "denied" number links to the request.denied rows behind it, Carol's among them.
    await row.getByRole('button', { name: /\(audit rows: Denied, What became of the requests, Staging database\)$/ }).click();
    const rows = page.getByRole('region', { name: 'Audit rows: Denied, What became of the requests, Staging database' });
    await expect(page.getByRole('heading', { name: 'Audit rows: Denied, What became of the requests, Staging database' })).toBeFocused();
    const deniedRow = rows.getByRole('row').filter({ hasText: denied.id });
    await expect(deniedRow).toContainText('request.denied');
    await expect(deniedRow).toContainText('carol');
    const actions = await rows.getByRole('row').locator('td:nth-child(4)').allTextContents();
    expect(actions.length).toBeGreaterThanOrEqual(1);
    expect(new Set(actions)).toEqual(new Set(['request.denied']));
    await expectNoAxeViolations(page, 'Insights, Staging database, with audit rows');
    await snap(page, '13-insights');

    // A bar in the grant-use chart opens its rows too (the released grant of Staging database).
    await page.getByRole('button', { name: 'Close rows' }).click();
    const released = page.getByRole('figure', { name: 'How grants ended' }).getByRole('button', { name: /\(audit rows: Released early, How grants ended, Staging database\)$/ });
    await released.click();
    await expect(page.getByRole('region', { name: /^Audit rows: Released early/ }).getByRole('row').filter({ hasText: 'grant.released' }).first()).toBeVisible();
  } finally {
    await dana.stop();
  }

  // Alice, an engineer: no Insights tab. Her history says how much of each ended grant she used.
  const alicePage = await openUi(browser, alice);
  await expect(alicePage.getByRole('button', { name: 'History' })).toBeVisible();
  await expect(alicePage.getByRole('button', { name: 'Insights', exact: true })).toHaveCount(0);
  await alicePage.getByRole('button', { name: 'History' }).click();
  await expect(alicePage.getByRole('columnheader', { name: 'Time used' })).toBeVisible();
  await expect(alicePage.getByRole('row').filter({ hasText: 'insights: check the import' })).toContainText(/\d+s of 15m \(\d+%\)/);
  await expect(alicePage.getByRole('row').filter({ hasText: 'insights: drop a table' }).getByRole('cell').nth(5)).toHaveText('');
  await expectNoAxeViolations(alicePage, 'History with time used');
  await snap(alicePage, '13-history-time-used');
});
