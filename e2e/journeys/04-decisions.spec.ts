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
