// Journey 8: signing out in the middle of a grant leaves nothing of Stint in the keychain.
import { expect, keychainItems, keychainLookup, notified, sandboxGrant, stintJson, test } from '../stack';

test('sign-out mid-grant wipes every credential and token from the keychain', async ({ stack }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  const { requestId, grant } = await sandboxGrant(stack, alice, '10m', 'last task of the day');
  expect(keychainItems(alice)).toEqual(expect.arrayContaining(['session:refresh-token', `grant:${grant.grantId}`]));

  const out = alice.stint(['logout']);
  expect(out.status).toBe(0);
  await notified(alice, new RegExp(`notice grant-wiped: demo-sandbox grant ${grant.grantId} \\(signed-out\\)`));
  expect(keychainItems(alice)).toEqual([]);
  expect(keychainLookup(alice, 'session:refresh-token')).toBeNull();
  expect(stintJson<{ auth: { status: string } }>(alice, ['status']).auth.status).toBe('signed-out');
  // The server ended the grant too.
  const view = await stack.server.api('alice', 'GET', `/v1/requests/${requestId}`);
  expect(view.body.grant.state).toBe('ended');
});
