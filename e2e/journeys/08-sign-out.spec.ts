// Journey 8: signing out in the middle of a grant leaves nothing of Stint in the keychain.
import { expect, grantFor, keychainItems, keychainLookup, notified, stintJson, test } from '../stack';

test('sign-out mid-grant wipes every credential and token from the keychain', async ({ stack }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  const request = stintJson<{ id: string }>(alice, ['request', 'demo-sandbox', '--for', '10m', '--reason', 'last task of the day']);
  const grant = await grantFor(alice, request.id);
  stack.remember(stintJson<Record<string, string>>(alice, ['env', 'demo-sandbox']).SANDBOX_TOKEN!);
  expect(keychainItems(alice)).toEqual(expect.arrayContaining(['session:refresh-token', `grant:${grant.grantId}`]));

  const out = alice.stint(['logout']);
  expect(out.status).toBe(0);
  await notified(alice, new RegExp(`notice grant-wiped: demo-sandbox grant ${grant.grantId} \\(signed-out\\)`));
  expect(keychainItems(alice)).toEqual([]);
  expect(keychainLookup(alice, 'session:refresh-token')).toBeNull();
  expect(stintJson<{ auth: { status: string } }>(alice, ['status']).auth.status).toBe('signed-out');
  // The server ended the grant too.
  const view = await stack.server.api('alice', 'GET', `/v1/requests/${request.id}`);
  expect(view.body.grant.state).toBe('ended');
});
