// A second Unix user for attack tests: someone else on the same machine who can create files
// in a shared folder (a sticky /tmp-like one), run a process, listen on a socket. Needs root
// (useradd), which the test command has; callers skip with a printed reason otherwise.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** useradd refuses while another process holds /etc/passwd's lock (parallel test files): retry. */
export async function withPasswdLock<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '');
      if (attempt >= 10 || !/lock/i.test(stderr)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

export interface OtherUser {
  name: string;
  uid: number;
  /** Runs a command as this user (no shell, no login): resolves with its output. */
  run(command: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Starts a long-running command as this user; stopped by remove(). */
  spawn(command: string, args: string[]): ChildProcess;
  remove(): Promise<void>;
}

/** Why this process cannot make another user, or null when it can. */
export const otherUserUnavailable = (): string | null => (process.getuid?.() === 0 ? null : 'needs root to create a second Unix user (useradd); run the tests as root, as `npm test` in CI does');

export async function createOtherUser(): Promise<OtherUser> {
  const name = `stint-x${randomBytes(4).toString('hex')}`;
  await withPasswdLock(() => execFileAsync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', name]));
  const uid = Number((await execFileAsync('id', ['-u', name])).stdout.trim());
  const children: ChildProcess[] = [];
  const removeNow = () => {
    for (const child of children) child.kill('SIGKILL');
    // runuser's own child outlives a SIGKILL to runuser: end every process of the user.
    spawnSync('pkill', ['-KILL', '-u', name]);
  };
  process.once('exit', removeNow);
  return {
    name,
    uid,
    run: (command, args) => execFileAsync('runuser', ['-u', name, '--', command, ...args]),
    spawn(command, args) {
      const child = spawn('runuser', ['-u', name, '--', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    async remove() {
      removeNow();
      process.off('exit', removeNow);
      await withPasswdLock(() => execFileAsync('userdel', ['-f', name])).catch(() => {});
    },
  };
}
