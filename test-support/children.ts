// Servers and agents a test starts must not outlive it. A test that fails (or a worker that is
// torn down) may never reach its own stop(); when the test process exits, whatever it started
// and did not stop is killed here. (A process killed outright cannot run this; postgres.ts
// and sshd.ts keep watchdogs for the servers that hold ports and users.)
import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
let hooked = false;

export function stopWithThisProcess(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const leftover of running) leftover.kill('SIGKILL');
    });
  }
  return child;
}
