// Journey 2: SSH certificates against a real sshd. Alice's app makes a key pair for the request,
// keeps the private half in her keychain and her ssh-agent; ssh works in the window, not after
// it, and not a moment after an early release (once the host has fetched the revocation list).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runSsh } from '../../test-support/sshd';
import { expect, grantFor, keychainLookup, sleepUntil, stintJson, test, until } from '../stack';
import { agentKeys, copyFromKeychain, sshWithAgent } from '../ssh';

test('alice: ssh with a certificate works in the window, not after it, and not after release', async ({ stack }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  await stack.refreshKrl();
  const copies = mkdtempSync(join(stack.dir, 'stolen-'));
  try {
    // A short grant, approved by bob.
    const first = stintJson<{ id: string; state: string }>(alice, ['request', 'dev-ssh', '--for', '25s', '--reason', 'restart the worker']);
    expect(first.state).toBe('pending');
    expect(stack.review('bob', first.id, 'approve').status).toBe(0);
    const grant = await grantFor(alice, first.id);
    await until('the key in the ssh-agent', () => stintJson<{ grantId: string; inAgent: boolean }[]>(alice, ['grants']).find((g) => g.grantId === grant.grantId)?.inAgent);
    expect(agentKeys(alice)).toMatch(/ED25519-CERT/);
    const stolen = copyFromKeychain(alice, grant.grantId, copies);
    stack.remember(JSON.parse(keychainLookup(alice, `grant:${grant.grantId}`)!).sshPrivateKey.split('\n').find((l: string) => l.length > 60));

    const during = sshWithAgent(stack, alice);
    expect(during.stderr, stack.sshd.log().slice(-3000)).toBe('');
    expect(during.stdout.trim()).toBe(`in as ${stack.sshd.userName}`);

    // After the deadline: the agent no longer holds the key, and the certificate is refused.
    await sleepUntil(Date.parse(grant.expiresAt) + 1500);
    await until('the key to leave the ssh-agent', () => !/ED25519-CERT/.test(agentKeys(alice)), 5000);
    expect(keychainLookup(alice, `grant:${grant.grantId}`)).toBeNull();
    expect(sshWithAgent(stack, alice).status).toBe(255);
    const expired = await runSsh({ port: stack.sshd.port, user: stack.sshd.userName, ...stolen });
    expect(expired.code).toBe(255);
    expect(stack.sshd.log()).toMatch(/expired|Certificate invalid/i);

    // A second grant, released early: refused at once once the host has the new KRL.
    const second = stintJson<{ id: string }>(alice, ['request', 'dev-ssh', '--for', '10m', '--reason', 'check the logs']);
    expect(stack.review('bob', second.id, 'approve').status).toBe(0);
    const grant2 = await grantFor(alice, second.id);
    const stolen2 = copyFromKeychain(alice, grant2.grantId, copies);
    expect((await runSsh({ port: stack.sshd.port, user: stack.sshd.userName, ...stolen2 })).code).toBe(0);
    expect(alice.stint(['release', 'dev-ssh']).status).toBe(0);
    expect(agentKeys(alice)).not.toMatch(/ED25519-CERT/);
    // The KRL endpoint caches its build for up to a second; the host's timer fetches it.
    await new Promise((r) => setTimeout(r, 1100));
    await stack.refreshKrl();
    const released = await runSsh({ port: stack.sshd.port, user: stack.sshd.userName, ...stolen2 });
    expect(released.code).toBe(255);
    expect(stack.sshd.log()).toMatch(/revoked/i);
  } finally {
    rmSync(copies, { recursive: true, force: true });
  }
});

test('bob: an auto-approved SSH grant still gets its key into the keychain and the agent', async ({ stack }) => {
  const { bob } = stack.people;
  // bob is in sre-leads: dev-ssh approves him at once, racing the app's own bookkeeping.
  const request = stintJson<{ id: string; state: string }>(bob, ['request', 'dev-ssh', '--for', '5m', '--reason', 'on call']);
  expect(request.state).toBe('active');
  const grant = await grantFor(bob, request.id);
  await until('bob’s key in his ssh-agent', () => stintJson<{ grantId: string; inAgent: boolean }[]>(bob, ['grants']).find((g) => g.grantId === grant.grantId)?.inAgent);
  expect(JSON.parse(keychainLookup(bob, `grant:${grant.grantId}`)!).sshPrivateKey).toMatch(/BEGIN OPENSSH PRIVATE KEY/);
  expect(sshWithAgent(stack, bob).stdout.trim()).toBe(`in as ${stack.sshd.userName}`);
  expect(bob.stint(['release', 'dev-ssh']).status).toBe(0);
});
