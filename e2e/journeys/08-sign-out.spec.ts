// Journey 8: signing out in the middle of a grant leaves nothing of Stint in the keychain, and
// ends the session at the identity provider.
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

  // And the session at the IdP: the browser is handed a one-time loopback address (never the ID
  // token itself, which would sit in the browser's command line), which takes it to the IdP.
  const handedOff = await alice.nextBrowserUrl();
  expect(handedOff).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sign-out\/[A-Za-z0-9_-]{22}$/);
  const idp = await stack.openInBrowser('alice', handedOff);
  expect(idp.url()).toMatch(new RegExp(`^${stack.server.issuer}/session/end`));
  // The IdP asks to confirm while its session is alive (an earlier journey's may have lapsed).
  const confirm = idp.getByRole('button', { name: 'Sign out', exact: true });
  if (await confirm.isVisible()) await confirm.click();
  await expect(idp.getByText('You are signed out')).toBeVisible();
  await idp.close();
});
