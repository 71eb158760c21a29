// Journey 3: a system that needs two approvals stays pending after one, and opens after the
// second, from a different approver.
import { expect, grantFor, openUi, snap, stintJson, test, until } from '../stack';

interface RequestJson {
  id: string;
  state: string;
  reviews: { reviewer: { sub: string }; decision: string }[];
}

test('payments-admin needs two approvers: pending after bob, active after carol', async ({ stack, browser }) => {
  const { alice, bob } = stack.people;
  await stack.ensureSignedIn('alice');
  const request = stintJson<RequestJson>(alice, ['request', 'payments-admin', '--for', '15m', '--reason', 'refund order 1 twice charged']);
  expect(request.state).toBe('pending');

  expect(stack.review('bob', request.id, 'approve', 'checked the charge').status).toBe(0);
  const afterOne = await until('bob’s approval in alice’s app', () => stintJson<{ mine: RequestJson[] }>(alice, ['requests']).mine.find((r) => r.id === request.id && r.reviews.length === 1));
  expect(afterOne.state).toBe('pending');
  expect(stintJson<{ requestId: string }[]>(alice, ['grants']).some((g) => g.requestId === request.id)).toBe(false);
  // bob cannot make up the second approval himself.
  const again = bob.stint(['approve', request.id]);
  expect(again.status).toBe(4); // refused by policy, at the server
  expect(again.stderr).toMatch(/already reviewed this request; each person counts once/);

  const page = await openUi(browser, alice);
  await page.getByRole('button', { name: /^My access/ }).click();
  await expect(page.getByRole('list', { name: 'My requests' }).getByRole('listitem').filter({ hasText: 'refund order 1' })).toContainText('pending');
  await snap(page, '03-pending-after-one-approval');

  expect(stack.review('carol', request.id, 'approve', 'second pair of eyes').status).toBe(0);
  const grant = await grantFor(alice, request.id);
  expect(grant.systemId).toBe('payments-admin');
  await expect(page.getByRole('listitem', { name: 'Payments admin console grant' })).toBeVisible();
  await snap(page, '03-active-after-two');
  const env = stintJson<Record<string, string>>(alice, ['env', 'payments-admin']);
  stack.remember(env.PAYMENTS_ADMIN_TOKEN!);
  expect(alice.stint(['release', 'payments-admin']).status).toBe(0);
});
