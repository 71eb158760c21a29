// ssh as a person runs it in the journeys: the key from their own ssh-agent, nothing on disk.
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent } from '../test-support/agent';
import { keychainLookup, type Stack } from './stack';

/** `ssh user@127.0.0.1 'echo in as $(whoami)'` to the journey's sshd, with the person's agent. */
export function sshWithAgent(stack: Stack, agent: Agent) {
  return spawnSync(
    'ssh',
    ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR',
      '-p', String(stack.sshd.port), `${stack.sshd.userName}@127.0.0.1`, 'echo "in as $(whoami)"'],
    { env: { ...process.env, SSH_AUTH_SOCK: agent.env.SSH_AUTH_SOCK }, encoding: 'utf8', timeout: 15_000 },
  );
}

/** What the person's ssh-agent holds (ssh-add -l). */
export function agentKeys(agent: Agent): string {
  return spawnSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: agent.env.SSH_AUTH_SOCK }, encoding: 'utf8' }).stdout;
}

/**
 * The grant's key and certificate as they are in the keychain, written to a private folder: a
 * copy an attacker might have taken, to show the certificate itself stops working.
 */
export function copyFromKeychain(agent: Agent, grantId: string, dir: string): { keyPath: string; certificatePath: string } {
  const secret = JSON.parse(keychainLookup(agent, `grant:${grantId}`)!) as { sshPrivateKey: string; sshCertificate: string };
  const keyPath = join(dir, `${grantId}.key`);
  const certificatePath = `${keyPath}-cert.pub`;
  writeFileSync(keyPath, secret.sshPrivateKey.endsWith('\n') ? secret.sshPrivateKey : `${secret.sshPrivateKey}\n`, { mode: 0o600 });
  writeFileSync(certificatePath, `${secret.sshCertificate}\n`);
  chmodSync(keyPath, 0o600);
  return { keyPath, certificatePath };
}
