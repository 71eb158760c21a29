// Journey 4: the other ways a request ends (denied, cancelled, expired while pending), and a
// grant extended from its reminder.
import { expect, notified, openUi, sandboxGrant, snap, stintJson, test, until } from '../stack';

interface RequestJson {
  id: string;
  state: string;
}

const mine = (agent: Parameters<typeof stintJson>[0], id: string) => stintJson<{ mine: RequestJson[] }>(agent, ['requests']).mine.find((r) => r.id === id);

test('denied: bob says no, alice is told, nothing is granted', async ({ stack, browser }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  const request = stintJson<RequestJson>(alice, ['request', 'staging-db', '--for', '15m', '--reason', 'drop the old orders table']);
  expect(stack.review('bob', request.id, 'deny', 'not without a backup first').status).toBe(0);
  await notified(alice, new RegExp(`notice request-denied: staging-db request ${request.id}`));
  expect(mine(alice, request.id)?.state).toBe('denied');
  expect(stintJson<{ requestId: string }[]>(alice, ['grants']).some((g) => g.requestId === request.id)).toBe(false);
  const page = await openUi(browser, alice);
  await page.getByRole('button', { name: /^My access/ }).click();
  await expect(page.getByRole('list', { name: 'My requests' }).getByRole('listitem').filter({ hasText: 'drop the old orders table' })).toContainText('denied');
  await snap(page, '04-denied');
});

test('cancelled: alice withdraws from the UI, and it leaves bob’s inbox', async ({ stack, browser }) => {
  const { alice, bob } = stack.people;
  await stack.ensureSignedIn('alice');
  const page = await openUi(browser, alice);
  await page.getByRole('button', { name: 'Request Staging database for 15m' }).click();
  await page.getByLabel('Reason (optional)').fill('look at a slow query');
  await page.getByRole('button', { name: 'Submit request' }).click();
  const row = page.getByRole('list', { name: 'My requests' }).getByRole('listitem').filter({ hasText: 'look at a slow query' });
  await expect(row).toContainText('pending');
  const request = stintJson<{ mine: (RequestJson & { reason: string })[] }>(alice, ['requests']).mine.find((r) => r.reason === 'look at a slow query')!;
  await until('the request in bob’s inbox', () => stintJson<{ review: RequestJson[] }>(bob, ['requests']).review.some((r) => r.id === request.id));
  await row.getByRole('button', { name: 'Cancel' }).click();
  await expect(row).toContainText('cancelled');
  await snap(page, '04-cancelled');
  await until('the request to leave bob’s inbox', () => !stintJson<{ review: RequestJson[] }>(bob, ['requests']).review.some((r) => r.id === request.id));
  // A late approval of a withdrawn request is refused.
  expect((await stack.callAgent('bob', 'review', { requestId: request.id, decision: 'approve' })).message).toMatch(/cancelled|not pending|no longer/i);
});

test('expired: a pending request nobody decides on ends at its TTL', async ({ stack }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  const request = stintJson<RequestJson & { pendingExpiresAt: string }>(alice, ['request', 'quick-review', '--for', '5m', '--reason', 'nobody will look']);
  expect(request.state).toBe('pending');
  expect(Date.parse(request.pendingExpiresAt) - Date.now()).toBeLessThanOrEqual(15_000);
  await notified(alice, new RegExp(`notice request-expired: quick-review request ${request.id}`), 30_000);
  expect(mine(alice, request.id)?.state).toBe('expired');
});

test('extend from a reminder: the toast’s Extend gives more time under the same policy', async ({ stack, browser }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  const page = await openUi(browser, alice);
  // demo-sandbox approves at once; 70 s puts the default one-minute reminder 10 s away.
  const { grant } = await sandboxGrant(stack, alice, '70s', 'try a migration');
  await notified(alice, new RegExp(`notice grant-reminder: demo-sandbox grant ${grant.grantId} ends in \\d+s \\(extend`), 30_000);
  const toast = page.getByRole('status').locator('.toast').filter({ hasText: 'Access to Sandbox ends in' });
  await expect(toast).toBeVisible();
  await snap(page, '04-reminder');
  await toast.getByRole('button', { name: 'Extend 5m' }).click();
  await until('the deadline to move by the extension', () => {
    const now = stintJson<{ systemId: string; expiresAt: string }[]>(alice, ['grants']).find((g) => g.systemId === 'demo-sandbox');
    return now && Date.parse(now.expiresAt) >= Date.parse(grant.expiresAt) + 4 * 60_000;
  });
  await page.getByRole('button', { name: /^My access/ }).click();
  await expect(page.getByRole('listitem', { name: 'Sandbox grant' }).getByRole('timer')).toHaveText(/^[56]:\d\d left$/);
  await snap(page, '04-extended');
  expect(alice.stint(['release', 'demo-sandbox']).status).toBe(0);
});

test('approved for less: bob gives alice 15 minutes of the hour she asked, and she is told why', async ({ stack, browser }) => {
  const { alice, bob } = stack.people;
  await stack.ensureSignedIn('alice');
  const request = stintJson<RequestJson>(alice, ['request', 'staging-db', '--for', '1h', '--reason', 'backfill the audit table']);
  expect(request.state).toBe('pending');
  await notified(bob, new RegExp(`notice review-requested: staging-db request ${request.id} by alice`));
  const bobPage = await openUi(browser, bob);
  await bobPage.getByRole('button', { name: /^Approvals/ }).click();
  const review = bobPage.getByRole('listitem').filter({ hasText: 'backfill the audit table' });
  await review.getByLabel('Comment (optional)').fill('a quarter hour is enough for a backfill');
  // Only shorter choices than asked are offered.
  await expect(review.getByLabel('Approve for').locator('option')).toHaveText(['1h (as asked)', '15m']);
  await review.getByLabel('Approve for').selectOption('900');
  await snap(bobPage, '04-approve-for-less');
  await review.getByRole('button', { name: 'Approve for 15m' }).click();
  await expect(bobPage.getByText(/^Approved Alice Adams's request for Staging database for 15m of 1h asked; it is now (approved|active)\.$/)).toBeVisible();

  // Alice's grant runs for what was approved, and her app says what she asked and why it is less.
  await until('the grant in alice’s keychain', () => stintJson<{ requestId: string }[]>(alice, ['grants']).some((g) => g.requestId === request.id));
  const grant = stintJson<{ requestId: string; startsAt: string; expiresAt: string }[]>(alice, ['grants']).find((g) => g.requestId === request.id)!;
  expect(Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)).toBe(15 * 60_000);
  const alicePage = await openUi(browser, alice);
  await alicePage.getByRole('button', { name: /^My access/ }).click();
  await expect(alicePage.getByRole('list', { name: 'My requests' }).getByRole('listitem').filter({ hasText: 'backfill the audit table' })).toContainText(
    'Staging database for 15m · approved for less than the 1h you asked (Bob Baker: “a quarter hour is enough for a backfill”)',
  );
  expect(alice.stint(['release', 'staging-db']).status).toBe(0);

  // From the command line: `stint approve --for`, and never for longer than asked.
  const again = stintJson<RequestJson>(alice, ['request', 'staging-db', '--for', '15m', '--reason', 'check the backfill']);
  await until('the request in bob’s inbox', () => stintJson<{ review: RequestJson[] }>(bob, ['requests']).review.some((r) => r.id === again.id));
  const longer = bob.stint(['approve', again.id, '--for', '1h']);
  expect(longer.status).not.toBe(0);
  expect(longer.stderr).toContain('You can approve for less than was asked (900 s), never more');
  const shorter = bob.stint(['approve', again.id, '--for', '5m']);
  expect(shorter.stdout).toMatch(/^Approved Alice Adams's request for staging-db for 5m \(asked 15m\); it is now (approved|active)\.$/m);
  await until('the grant in alice’s keychain', () => stintJson<{ requestId: string }[]>(alice, ['grants']).some((g) => g.requestId === again.id));
  expect(alice.stint(['release', 'staging-db']).status).toBe(0);
});
