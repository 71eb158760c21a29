// Journey 6: the rules hold against the people they protect against, through their own apps.
import { expect, stintJson, test } from '../stack';

test('alice cannot approve her own request, nor one she is no approver for; too long is refused with the maximum', async ({ stack }) => {
  const { alice, bob } = stack.people;
  await stack.ensureSignedIn('alice');
  const own = stintJson<{ id: string; state: string }>(alice, ['request', 'staging-db', '--for', '15m', '--reason', 'approve myself?']);
  // Straight at the server through her app's own socket, past the CLI's "not in your inbox".
  const self = await stack.callAgent('alice', 'review', { requestId: own.id, decision: 'approve' });
  expect(self.ok).toBe(false);
  expect(self.message).toMatch(/own request/i);
  expect(alice.stint(['approve', own.id]).status).toBe(3);

  // bob asks for payments-admin; alice is no approver for it (nor may she even see it: the
  // server answers as if it did not exist, so ids of others' requests leak nothing).
  const bobs = stintJson<{ id: string }>(bob, ['request', 'payments-admin', '--for', '15m', '--reason', 'month-end payouts']);
  const stranger = await stack.callAgent('alice', 'review', { requestId: bobs.id, decision: 'approve' });
  expect(stranger.ok).toBe(false);
  expect(stranger.message).toMatch(/no request .* that you can see/i);
  for (const id of [own.id, bobs.id]) {
    const view = await stack.server.api('dana', 'GET', `/v1/requests/${id}`);
    expect(view.body.request.state).toBe('pending');
    expect(view.body.request.reviews).toEqual([]);
  }

  const tooLong = alice.stint(['request', 'prod-db', '--for', '3h', '--reason', 'all afternoon', '--ticket', 'OPS-1']);
  expect(tooLong.status).toBe(4);
  expect(tooLong.stderr).toMatch(/maximum for prod-db, which is 2h/);

  // Tidy up: withdraw both.
  expect((await stack.callAgent('alice', 'cancel', { requestId: own.id })).ok).toBe(true);
  expect((await stack.callAgent('bob', 'cancel', { requestId: bobs.id })).ok).toBe(true);
});
