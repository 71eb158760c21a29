// Child processes for benchmarks: started, read for their first JSON line, always stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Child<T> {
  info: T;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** BENCH_PROFILE=<dir>: the benchmark server writes a CPU profile there when it stops (node --cpu-prof). */
const profiling = (file: string) => (process.env.BENCH_PROFILE && file === 'bench/bench-server.ts' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);

/** Runs a TypeScript file under tsx and resolves with the first JSON line it prints. */
export async function startTsChild<T>(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Child<T>> {
  const child = spawn(process.execPath, [...profiling(file), '--import', 'tsx', join(REPO, file), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  const info = await new Promise<T>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} printed nothing within 60 s:\n${output}`)), 60_000);
    child.stderr!.on('data', (d) => (output += d));
    child.stdout!.on('data', (d) => {
      output += d;
      const line = output.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolvePromise(JSON.parse(line) as T);
      }
    });
    child.once('exit', (code) => reject(new Error(`${file} exited (${code}):\n${output}`)));
  });
  return {
    info,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** `figure_p50`, `figure_p99`... and `figure_max` of some lateness samples, printed and returned. */
export function latencyFigures(figure: string, what: string, samples: number[], percentiles: readonly number[]): Record<string, { value: number; unit: string }> {
  const out: Record<string, { value: number; unit: string }> = {};
  for (const p of percentiles) out[`${figure}_p${p}`] = { value: Math.round(percentile(samples, p)), unit: 'ms' };
  out[`${figure}_max`] = { value: Math.round(Math.max(...samples)), unit: 'ms' };
  console.log(`${what}: ${Object.entries(out).map(([key, { value }]) => `${key.slice(figure.length + 1)} ${value} ms`).join(', ')}`);
  return out;
}
export const isMain = (url: string) => url === `file://${process.argv[1]}`;
