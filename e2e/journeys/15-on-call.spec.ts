// Journey 15: on-call auto-approval. The dev server's prod-db approves whoever its rota file puts
// on call now for schedule `primary` (docs/on-call.md). At 3 a.m. alice is on call: her request
// is approved at once and the CLI and her app say why. Off call, the same request goes to bob,
// whose card says why the rule did not approve it; with the rota unreadable it still goes to
// bob (an outage never approves), and the audit export names the schedule and the shift.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, grantFor, notified, openUi, snap, test, type Stack } from '../stack';

type Shift = { email: string; start: string; end: string };
const writeRota = (stack: Stack, primary: Shift[] | 'garbled') =>
  writeFileSync(join(stack.server.dataDir, 'oncall.json'), primary === 'garbled' ? '{ "schedules": ' : JSON.stringify({ schedules: { primary } }));
const iso = (ms: number) => new Date(ms).toISOString();

test('alice on call gets prod-db at once; off call, or with the rota unreadable, bob reviews and his card says why', async ({ stack, browser }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  const ask = (reason: string) => alice.stint(['request', 'prod-db', '--for', '30m', '--reason', reason, '--ticket', 'INC-15']);

  // On call now: approved without review, and told so.
  const shift = { email: 'alice@stint.example', start: iso(Date.now() - 3_600_000), end: iso(Date.now() + 3_600_000) };
  writeRota(stack, [shift]);
  const onCall = ask('paged: checkout errors');
  expect(onCall.status, onCall.stderr).toBe(0);
  expect(onCall.stdout).toContain('Granted: prod-db for 30m (approved at once: you are on call (rota schedule primary)). Use it:');
  const mine = JSON.parse(alice.stint(['requests', '--json']).stdout) as { mine: { id: string; reason: string; autoApprovedBy: unknown }[] };
  const approved = mine.mine.find((r) => r.reason === 'paged: checkout errors')!;
  expect(approved.autoApprovedBy).toMatchObject({ kind: 'on-call', source: 'rota', schedule: 'primary', shiftEnd: shift.end });
  await grantFor(alice, approved.id);
  const page = await openUi(browser, alice);
  await page.getByRole('button', { name: /^My access/ }).click();
  await expect(page.getByText('approved at once: you were on call (rota schedule primary', { exact: false })).toBeVisible();
  await snap(page, '15-on-call-approved');
  expect(alice.stint(['release', 'prod-db']).status).toBe(0);

  // Off call: bob reviews, and his card says the rule was asked and why it did not approve.
  writeRota(stack, []);
  const offCall = ask('look at the slow query log');
  expect(offCall.stdout).toMatch(/is pending/);
  const pending = (JSON.parse(alice.stint(['requests', '--json']).stdout) as { mine: { id: string; reason: string }[] }).mine.find((r) => r.reason === 'look at the slow query log')!;
  await notified(stack.people.bob, new RegExp(`notice review-requested: prod-db request ${pending.id} by alice`));
  const bobPage = await openUi(browser, stack.people.bob);
  await bobPage.getByRole('button', { name: /^Approvals/ }).click();
  const card = bobPage.getByRole('listitem').filter({ hasText: 'look at the slow query log' });
  await expect(card).toContainText('On call: not on call now for rota schedule primary');
  await snap(bobPage, '15-off-call-review');
  expect(stack.review('bob', pending.id, 'deny', 'not now').status).toBe(0);

  // The rota unreadable: never an approval, and the card says the source failed.
  writeRota(stack, 'garbled');
  const outage = ask('rota is broken');
  expect(outage.stdout).toMatch(/is pending/);
  const held = (JSON.parse(alice.stint(['requests', '--json']).stdout) as { mine: { id: string; reason: string }[] }).mine.find((r) => r.reason === 'rota is broken')!;
  await bobPage.reload();
  await bobPage.getByRole('button', { name: /^Approvals/ }).click();
  await expect(bobPage.getByRole('listitem').filter({ hasText: 'rota is broken' })).toContainText(/On call: rota schedule primary could not be asked \(.+\), so it was not approved on call/);
  expect(alice.stint(['cancel', held.id]).status).toBe(0);
  writeRota(stack, []);

  // The audit export says who approved the first one: the schedule and the shift.
  const exported = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'audit', 'export', '--format', 'jsonl', '--data-dir', stack.server.dataDir], { encoding: 'utf8' });
  expect(exported.status, exported.stderr).toBe(0);
  const created = exported.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { action: string; targetId: string; detail: Record<string, unknown> })
    .find((row) => row.action === 'request.created' && row.targetId === approved.id)!;
  expect(created.detail).toMatchObject({ outcome: 'on-call', onCall: { source: 'rota', schedule: 'primary', result: 'on-call', shift: { start: shift.start, end: shift.end } } });
});
