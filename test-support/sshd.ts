// A throwaway OpenSSH server for tests: its own host key, config and login user, trusting
// one user CA and reading a KRL file, on 127.0.0.1. Needs root (sshd's privilege separation
// and useradd) and Debian's openssh-server and openssh-client packages.
import { freePort } from './postgres';
import { withPasswdLock } from './other-user';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const HOST = '127.0.0.1';
const SSHD = '/usr/sbin/sshd'; // sshd refuses to start unless run by its absolute path (it re-executes itself)
const START_ATTEMPTS = 5;
const START_TIMEOUT_MS = 10_000;

export interface SshdOptions {
  /** The user CA public key line(s) for TrustedUserCAKeys; several lines trust several CAs. */
  caPublicKey: string;
  /** Initial RevokedKeys contents; an empty KRL (ssh-keygen -k) when absent. */
  krl?: Buffer;
  /**
   * Certificate principals that may log in as the login user (AuthorizedPrincipalsFile), as a
   * host that maps people onto a shared account does. Absent: the principal must be the user.
   */
  principals?: string[];
}

export interface RunningSshd {
  host: typeof HOST;
  port: number;
  /** The local account certificates must name as a principal (no AuthorizedPrincipalsFile). */
  userName: string;
  dir: string;
  configPath: string;
  hostKeyPath: string;
  krlPath: string;
  /** Replaces the KRL atomically (sshd reads the file at every authentication attempt). */
  writeKrl(data: Buffer): Promise<void>;
  /** sshd's log so far (LogLevel VERBOSE: accepted key ids and serials, refusals). */
  log(): string;
  /** Stops sshd, deletes the login user and the folder. Idempotent. */
  stop(): Promise<void>;
}

export interface SshResult {
  code: number | null;
  stdout: string;
  stderr: string;
}


/** ssh-keygen with no passphrase; returns the private key path (the public key is PATH.pub). */
export async function generateKeyPair(dir: string, name: string, type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519', bits?: number): Promise<string> {
  const file = path.join(dir, name);
  await execFileAsync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', name, '-f', file]);
  return file;
}

/**
 * Runs `ssh ... user@127.0.0.1 command` non-interactively with one key and certificate.
 * Exit 255 is ssh's own failure (refused authentication, connection error).
 */
export async function runSsh(options: { port: number; user: string; keyPath: string; certificatePath: string; command?: string }): Promise<SshResult> {
  const args = [
    '-F', '/dev/null', // ignore the runner's ~/.ssh/config
    '-i', options.keyPath,
    '-o', `CertificateFile=${options.certificatePath}`,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    '-p', String(options.port),
    `${options.user}@${HOST}`,
    options.command ?? 'echo ok',
  ];
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// sshd started with -D stays in the foreground as our child, but a worker killed outright
// (vitest ends forks with SIGKILL; crashes) would orphan it with its port and its user. As
// in postgres.ts: an 'exit' hook cleans up synchronously, and a watchdog process does it
// within a second of our process dying without one.
const WATCHDOG = `
owner=$1; pidfile=$2; user=$3; dir=$4
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
[ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
userdel -r -f "$user" >/dev/null 2>&1
rm -rf "$dir"
`;

const live = new Map<string, () => void>();
let exitHookInstalled = false;

function track(dir: string, cleanup: () => void): void {
  live.set(dir, cleanup);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const cleanupNow of [...live.values()]) cleanupNow();
    });
  }
}

export async function startSshd(options: SshdOptions): Promise<RunningSshd> {
  if (process.getuid?.() !== 0) throw new Error('startSshd needs root (sshd privilege separation, useradd)');
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing; run: apt-get install -y openssh-server openssh-client`);
  // sshd's privilege-separated child chroots here; the openssh-server package creates it at boot only.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = await mkdtemp(path.join(os.tmpdir(), 'stint-sshd-'));
  const userName = `stint-test-${randomBytes(4).toString('hex')}`;
  const configPath = path.join(dir, 'sshd_config');
  const hostKeyPath = path.join(dir, 'host_ed25519');
  const caPath = path.join(dir, 'user_ca.pub');
  const krlPath = path.join(dir, 'revoked.krl');
  const pidPath = path.join(dir, 'sshd.pid');

  let child: ChildProcess | null = null;
  let stopped = false;
  let logText = '';
  let userCreated = false;

  const watchdog = spawn('sh', ['-c', WATCHDOG, 'stint-sshd-watchdog', String(process.pid), pidPath, userName, dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  const cleanupNow = (): void => {
    live.delete(dir);
    stopped = true;
    watchdog.kill();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (userCreated) {
      try {
        // -f: a session still open in the account must not keep the user behind.
        execFileSync('userdel', ['-r', '-f', userName], { stdio: 'ignore' });
      } catch {
        // Already gone (or its mail spool never existed: userdel exits non-zero for that).
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  track(dir, cleanupNow);

  try {
    // '*' is "no password" without being "locked": with UsePAM no, sshd refuses accounts
    // whose password field starts with '!' (useradd's default) even for key logins.
    await withPasswdLock(() => execFileAsync('useradd', ['-m', '-p', '*', '-s', '/bin/sh', userName]));
    userCreated = true;
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKeyPath]);
    await writeFile(caPath, `${options.caPublicKey.trim()}\n`);
    if (options.principals) {
      // sshd reads the principals file as the login user: let that user through the folder
      // (0711: no listing) to this one world-readable file; the host key stays 0600.
      await writeFile(path.join(dir, 'principals'), `${options.principals.join('\n')}\n`, { mode: 0o644 });
      await chmod(dir, 0o711);
    }
    if (options.krl) await writeFile(krlPath, options.krl);
    else await execFileAsync('ssh-keygen', ['-q', '-k', '-f', krlPath]);
    await writeFile(
      configPath,
      [
        '# test-support/sshd.ts',
        `ListenAddress ${HOST}`,
        `HostKey ${hostKeyPath}`,
        `PidFile ${pidPath}`,
        // Certificates only: no authorized_keys, no passwords. Without an
        // AuthorizedPrincipalsFile a certificate must name the login user as a principal.
        `TrustedUserCAKeys ${caPath}`,
        `RevokedKeys ${krlPath}`,
        'AuthorizedKeysFile none',
        ...(options.principals ? [`AuthorizedPrincipalsFile ${path.join(dir, 'principals')}`] : []),
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin no',
        'UsePAM no',
        // The temp folder and home are not laid out the way StrictModes insists on.
        'StrictModes no',
        'UseDNS no',
        'PrintMotd no',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
  } catch (error) {
    cleanupNow();
    throw error;
  }

  const launch = async (port: number): Promise<{ ok: true } | { ok: false; portTaken: boolean; error: Error }> => {
    const proc = spawn(SSHD, ['-D', '-e', '-f', configPath, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: { ok: true } | { ok: false; portTaken: boolean; error: Error }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        settle({ ok: false, portTaken: false, error: new Error(`sshd did not start listening within ${START_TIMEOUT_MS} ms:\n${logText}`) });
      }, START_TIMEOUT_MS);
      proc.stderr!.setEncoding('utf8');
      proc.stderr!.on('data', (chunk: string) => {
        // Bounded: a long test run must not grow the log without limit.
        logText = (logText + chunk).slice(-200_000);
        if (logText.includes(`Server listening on ${HOST} port ${port}`)) settle({ ok: true });
      });
      proc.on('exit', (code, signal) => {
        settle({ ok: false, portTaken: /Address already in use/i.test(logText), error: new Error(`sshd exited (${code ?? signal}) before listening:\n${logText}`) });
      });
    });
  };

  let port = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const result = await launch(port);
      if (result.ok) break;
      if (!result.portTaken || attempt >= START_ATTEMPTS) throw result.error;
    }
  } catch (error) {
    cleanupNow();
    throw error;
  }

  return {
    host: HOST,
    port,
    userName,
    dir,
    configPath,
    hostKeyPath,
    krlPath,
    async writeKrl(data) {
      // Rename, not rewrite: sshd may read the file mid-write, and a half-written KRL fails closed.
      const temp = `${krlPath}.${randomBytes(4).toString('hex')}`;
      await writeFile(temp, data);
      await rename(temp, krlPath);
    },
    log: () => logText,
    async stop() {
      if (stopped) return;
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise<void>((resolve) => setTimeout(resolve, 3000).unref())]);
      }
      cleanupNow();
    },
  };
}
