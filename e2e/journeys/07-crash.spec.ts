// Journey 7: the app is killed outright during a grant and comes back after the deadline: the
// credential is wiped before anything else happens.
import { expect, keychainLookup, sandboxGrant, sleepUntil, stintJson, test, until } from '../stack';

test('SIGKILL mid-grant, restart after the deadline: wiped first', async ({ stack }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  const { grant } = await sandboxGrant(stack, alice, '12s', 'crash test');

  await alice.stop('SIGKILL');
  await sleepUntil(Date.parse(grant.expiresAt) + 2000);
  // Nobody was there to wipe it: the item outlived the deadline while the app was dead.
  expect(keychainLookup(alice, `grant:${grant.grantId}`)).toContain('SANDBOX_TOKEN');

  const before = alice.output().length;
  await alice.start();
  const startUp = alice.output().slice(before);
  const wiped = startUp.indexOf(`notice grant-wiped: demo-sandbox grant ${grant.grantId} (expired)`);
  const running = startUp.indexOf('Stint agent running');
  expect(wiped, startUp).toBeGreaterThanOrEqual(0);
  expect(wiped).toBeLessThan(running);
  expect(keychainLookup(alice, `grant:${grant.grantId}`)).toBeNull();
  await until('the session to be restored from the keychain', () => stintJson<{ auth: { status: string } }>(alice, ['status']).auth.status === 'signed-in');
  expect(stintJson<unknown[]>(alice, ['grants'])).toEqual([]);
});
