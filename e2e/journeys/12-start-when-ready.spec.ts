// Journey 12: start when ready. An approval that arrives while alice is in a meeting waits for
// her: the clock starts when she presses Start, not when bob approved. And a maintenance
// window: asked ahead with a start time, approved ahead from bob's card, it starts by itself.
import { expect, keychainLookup, notified, openTab, openUi, snap, stintJson, test, until } from '../stack';

interface RequestJson {
  id: string;
  state: string;
  startAt?: string | null;
}
interface WaitingJson {
  grantId: string;
  requestId: string;
  systemId: string;
  startBy: string | null;
  startAt: string | null;
}
interface GrantJson {
  grantId: string;
  requestId: string;
  startsAt: string;
  expiresAt: string;
}

const waitingOf = (agent: Parameters<typeof stintJson>[0], requestId: string) => stintJson<{ waiting: WaitingJson[] }>(agent, ['status']).waiting.find((w) => w.requestId === requestId);
const grantOf = (agent: Parameters<typeof stintJson>[0], requestId: string) => stintJson<GrantJson[]>(agent, ['grants']).find((g) => g.requestId === requestId);

test('approved while away: it waits, and the countdown starts when alice presses Start', async ({ stack, browser }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  const page = await openUi(browser, alice);
  const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Operations console' }) });
  await expect(card).toContainText('you start it within 8h of approval');
  await page.getByRole('button', { name: 'Request Operations console for 30m' }).click();
  await page.getByLabel('Reason (optional)').fill('ship release 42');
  await expect(page.getByText(/Once approved, it waits for you: start it within 8h/)).toBeVisible();
  await page.getByRole('button', { name: 'Submit request' }).click();
  const request = await until('the request', () => stintJson<{ mine: (RequestJson & { reason: string })[] }>(alice, ['requests']).mine.find((r) => r.reason === 'ship release 42'));

  expect(stack.review('bob', request.id, 'approve').status).toBe(0);
  await notified(alice, new RegExp(`notice grant-waiting: ops-console grant [0-9a-f-]+ waits for you \\(start: stint start ops-console\\)`));
  const waiting = (await until('the approval waiting in alice’s app', () => waitingOf(alice, request.id)))!;
  // Nothing is issued yet: no grant, nothing in the keychain.
  expect(grantOf(alice, request.id)).toBeUndefined();
  expect(keychainLookup(alice, `grant:${waiting.grantId}`)).toBeNull();

  await page.getByRole('button', { name: /^My access/ }).click();
  const ready = page.getByRole('listitem', { name: 'Operations console approved, not started' });
  await expect(ready).toContainText(/30m approved · start before .+; the countdown begins then/);
  await snap(page, '12-waiting');
  const tray = await openTab(page, '#/tray');
  await expect(tray.getByRole('listitem', { name: 'Operations console approved, not started' }).getByRole('button', { name: 'Start now' })).toBeVisible();
  await snap(tray, '12-waiting-tray');
  await tray.close();

  // Time passes in the meeting; the window the approval gave does not.
  await page.waitForTimeout(2000);
  const pressed = Date.now();
  await ready.getByRole('button', { name: 'Start now' }).click();
  const active = page.getByRole('listitem', { name: 'Operations console grant' });
  await expect(active.getByRole('timer')).toHaveText(/^(30:00|29:5\d) left$/);
  await expect(ready).toHaveCount(0);
  const grant = grantOf(alice, request.id)!;
  expect(Date.parse(grant.startsAt)).toBeGreaterThanOrEqual(pressed - 1000);
  expect(Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)).toBe(30 * 60_000);
  expect(keychainLookup(alice, `grant:${grant.grantId}`)).toContain('OPS_CONSOLE_TOKEN');
  await snap(page, '12-started');
  expect(alice.stint(['release', 'ops-console']).status).toBe(0);
});

test('a maintenance window: asked ahead with --at, approved ahead from bob’s card, it starts by itself', async ({ stack, browser }) => {
  const { alice, bob } = stack.people;
  await stack.ensureSignedIn('alice');
  const request = stintJson<RequestJson>(alice, ['request', 'staging-db', '--for', '15m', '--reason', 'reindex in the window', '--at', '+20s']);
  expect(request.state).toBe('pending');
  const startAt = request.startAt!;
  expect(Date.parse(startAt) - Date.now()).toBeGreaterThan(5_000);

  await notified(bob, new RegExp(`notice review-requested: staging-db request ${request.id} by alice`));
  const bobPage = await openUi(browser, bob);
  await bobPage.getByRole('button', { name: /^Approvals/ }).click();
  const review = bobPage.getByRole('listitem').filter({ hasText: 'reindex in the window' });
  await expect(review).toContainText(/Starts at .+ \(a maintenance window\): approving now approves ahead/);
  await snap(bobPage, '12-approve-ahead');
  await review.getByRole('button', { name: /^Approve/ }).click();

  const waitingLine = await notified(alice, new RegExp(`notice grant-waiting: staging-db grant [0-9a-f-]+ starts at ${startAt.replace(/[.]/g, '\\.')}`));
  const grantId = /grant ([0-9a-f-]+) starts at/.exec(waitingLine)![1]!;
  // Not before its time, even when asked.
  expect(alice.stint(['start', 'staging-db']).stderr).toContain('starts by itself at');
  expect(alice.stint(['status']).stdout).toContain(`Approved: staging-db for 15m, starts by itself at ${startAt}`);
  expect(grantOf(alice, request.id)).toBeUndefined();

  // This grant's own notice: the log also holds earlier journeys' staging-db grants.
  await notified(alice, new RegExp(`notice grant-active: staging-db grant ${grantId} until`), 30_000);
  const grant = grantOf(alice, request.id)!;
  expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(startAt));
  expect(grant.startsAt).toBe(startAt);
  expect(Date.parse(grant.expiresAt) - Date.parse(startAt)).toBe(15 * 60_000);
  expect(alice.stint(['release', 'staging-db']).status).toBe(0);
});
