// A named test double for the running app's local socket: answers the CLI's calls from a
// state the test gives, so a test can show the CLI exactly what a real agent could hold (old
// rows, hostile text, ids that read alike) without a server. Run the CLI asynchronously (not
// spawnSync) against it: it answers from the test's own event loop.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface FakeAgent {
  /** The runtime folder (STINT_RUNTIME_DIR) whose socket this double answers on. */
  dir: string;
  /** Every call the CLI made, in order, as the socket received it. */
  calls: { method: string; input: any }[];
  /** Runs `stint <args>` against this socket; resolves with its exit status and output. */
  stint(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }>;
  close(): void;
}

/** `answer(method, input)` gives each call's result (the agent's `ok: true` reply). */
export async function startFakeAgent(answer: (method: string, input: unknown) => unknown): Promise<FakeAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'stint-fake-agent-'));
  const calls: FakeAgent['calls'] = [];
  const server = createServer((socket) => {
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const { id, method, input } = JSON.parse(buffer.slice(0, i)) as { id: number; method: string; input: unknown };
        buffer = buffer.slice(i + 1);
        calls.push({ method, input });
        socket.write(`${JSON.stringify({ id, ok: true, result: answer(method, input) })}\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(join(dir, 'stint.sock'), r));
  return {
    dir,
    calls,
    async stint(...args) {
      try {
        const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', join(REPO, 'cli/src/entry.ts'), ...args], { env: { ...process.env, STINT_RUNTIME_DIR: dir } });
        return { status: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        return { status: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
      }
    },
    close() {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
