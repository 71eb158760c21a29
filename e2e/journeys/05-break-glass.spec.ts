// Journey 5: break-glass opens at once for its group, and the audit marks it for review.
import { expect, grantFor, stintJson, test } from '../stack';

test('bob breaks the glass on prod-db: active at once, flagged for an auditor', async ({ stack }) => {
  const { bob, alice } = stack.people;
  await stack.ensureSignedIn('alice');
  // alice is not in the break-glass group: refused, nothing granted.
  const refused = alice.stint(['request', 'prod-db', '--for', '15m', '--reason', 'site is down', '--ticket', 'INC-9', '--break-glass']);
  expect(refused.status).toBe(4);
  expect(refused.stderr).toMatch(/break-glass/i);

  const request = stintJson<{ id: string; state: string; breakGlass: boolean; flaggedForReview: boolean }>(bob, ['request', 'prod-db', '--for', '15m', '--reason', 'site is down', '--ticket', 'INC-9', '--break-glass']);
  expect(request).toMatchObject({ state: 'active', breakGlass: true, flaggedForReview: true });
  const grant = await grantFor(bob, request.id);
  stack.remember(stintJson<Record<string, string>>(bob, ['env', 'prod-db']).PGPASSWORD!);
  expect(bob.stint(['exec', 'prod-db', '--', 'psql', '-XtAc', 'select count(*) from orders']).stdout.trim()).toBe('1');

  const audit = await stack.server.api('dana', 'GET', '/v1/audit?limit=500');
  expect(audit.status).toBe(200);
  const entries = (audit.body.entries ?? audit.body) as { action: string; targetId: string; detail: Record<string, unknown> }[];
  expect(entries).toContainEqual(expect.objectContaining({ action: 'request.break_glass', targetId: request.id, detail: expect.objectContaining({ flaggedForReview: true }) }));
  expect(bob.stint(['release', grant.grantId]).status).toBe(0);
});
