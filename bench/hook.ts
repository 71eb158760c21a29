/**
 * hook_overhead_ratio_vs_direnv: what the `stint hook bash` prompt hook costs per prompt when
 * nothing changed, against a bare prompt and against direnv's own hook, in one bash process
 * each, in one run. Run alone: npx tsx bench/hook.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hookScript } from '../cli/src/shell';
import { runtimePaths } from '../core/src/runtime/paths';
import { publishRevision } from '../core/src/runtime/revision';

const N = 20_000; // stint and bare prompts: cheap, so many
const M = 200; // direnv spawns a process per prompt

function bashLoop(setup: string, body: string, count: number, cwd: string): number {
  // EPOCHREALTIME is bash's own microsecond clock: no process is spawned to read it.
  const script = `${setup}
start=$EPOCHREALTIME
for ((i = 0; i < ${count}; i++)); do ${body}; done
end=$EPOCHREALTIME
echo "\${start/./} \${end/./}"`;
  const result = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: cwd } });
  if (result.status !== 0) throw new Error(`bash failed: ${result.stderr}`);
  const [start, end] = result.stdout.trim().split('\n').at(-1)!.split(' ').map(Number);
  return (end! - start!) / count; // microseconds per iteration
}

export function benchHook() {
  const dir = mkdtempSync(join(tmpdir(), 'stint-hookbench-'));
  // The folder as the agent leaves it after publishing revision 7: the revision file, the
  // prompt's deadlines and the marker of revision 7.
  const paths = runtimePaths({ STINT_RUNTIME_DIR: dir }, 'linux');
  publishRevision(paths, 7, []);
  const hook = hookScript('bash', paths, 'stint');
  writeFileSync(join(dir, 'hook.bash'), hook);
  const bare = bashLoop(':', ':', N, dir);
  // The shell has seen revision 7 already (one prompt ran the hook since): the state every
  // prompt is in between changes.
  const stint = bashLoop(`source ${join(dir, 'hook.bash')}; __STINT_SEEN=7; __stint_hook`, '__stint_hook', N, dir);
  const direnvAvailable = spawnSync('direnv', ['version']).status === 0;
  if (!direnvAvailable) throw new Error('direnv is not installed (apt-get install direnv)');
  const direnv = bashLoop('eval "$(direnv hook bash)"', '_direnv_hook', M, dir);
  const stintCost = Math.max(0, stint - bare);
  const direnvCost = Math.max(0, direnv - bare);
  const ratio = stintCost / direnvCost;
  console.log(`prompt hook, per prompt: bare ${bare.toFixed(2)} us, stint ${stint.toFixed(2)} us (+${stintCost.toFixed(2)}), direnv ${direnv.toFixed(0)} us (+${direnvCost.toFixed(0)}); ratio ${ratio.toFixed(5)}`);
  return {
    hook_bare_prompt_us: { value: Number(bare.toFixed(3)), unit: 'us/prompt' },
    hook_stint_cost_us: { value: Number(stintCost.toFixed(3)), unit: 'us/prompt' },
    hook_direnv_cost_us: { value: Number(direnvCost.toFixed(1)), unit: 'us/prompt' },
    hook_overhead_ratio_vs_direnv: { value: Number(ratio.toFixed(6)), unit: 'ratio' },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(benchHook(), null, 2));
