// Journey 2: SSH certificates against a real sshd. Alice's app makes a key pair for the request,
// keeps the private half in her keychain and her ssh-agent; ssh works in the window, not after
// it, and not a moment after an early release (once the host has fetched the revocation list).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSsh } from '../../test-support/sshd';
import { expect, grantFor, keychainLookup, sleepUntil, stintJson, test, until, type Stack } from '../stack';
import type { Agent } from '../../test-support/agent';

/** ssh as a person runs it: the key comes from their ssh-agent, nothing on disk. */
function sshWithAgent(stack: Stack, agent: Agent) {
  return spawnSync(
    'ssh',
    ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR',
      '-p', String(stack.sshd.port), `${stack.sshd.userName}@127.0.0.1`, 'echo "in as $(whoami)"'],
    { env: { ...process.env, SSH_AUTH_SOCK: agent.env.SSH_AUTH_SOCK }, encoding: 'utf8', timeout: 15_000 },
  );
}

/** What the person's ssh-agent holds (ssh-add -l). */
function agentKeys(agent: Agent): string {
  return spawnSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: agent.env.SSH_AUTH_SOCK }, encoding: 'utf8' }).stdout;
}

/**
 * The grant's key and certificate as they are in the keychain, written to a private folder: a
 * copy an attacker might have taken, to show the certificate itself stops working.
 */
function copyFromKeychain(agent: Agent, grantId: string, dir: string): { keyPath: string; certificatePath: string } {
  const secret = JSON.parse(keychainLookup(agent, `grant:${grantId}`)!) as { sshPrivateKey: string; sshCertificate: string };
  const keyPath = join(dir, `${grantId}.key`);
  const certificatePath = `${keyPath}-cert.pub`;
  writeFileSync(keyPath, secret.sshPrivateKey.endsWith('\n') ? secret.sshPrivateKey : `${secret.sshPrivateKey}\n`, { mode: 0o600 });
  writeFileSync(certificatePath, `${secret.sshCertificate}\n`);
  chmodSync(keyPath, 0o600);
  return { keyPath, certificatePath };
}

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
