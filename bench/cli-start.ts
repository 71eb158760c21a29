/**
 * cli_start_ratio_*: how long the built `stint` (cli/dist, what `npm install` puts on the path)
 * takes for the commands a shell runs often, against `node -e 0`, in alternating runs (medians),
 * with a test double answering on the local socket so only the CLI's own start is measured.
 * cli_env_at_change_ms is what the prompt hook pays once when a grant starts or ends.
 * Run alone: npx tsx bench/cli-start.ts
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { accessRequest, coreState } from '../test-support/fixtures';
import { startFakeAgent } from '../test-support/fake-agent';
import { REPO } from './processes';

const run = promisify(execFile);
const ROUNDS = 21;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchCliStart() {
  execFileSync(process.execPath, [join(REPO, 'cli/build.mjs')], { stdio: 'inherit' });
  const grant = { grantId: '0195f0a0-9999-7000-8000-0000deadbeef', requestId: accessRequest().id, systemId: 'prod-db', startsAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString(), state: 'active' as const, envNames: ['PGPASSWORD'], stored: true, inAgent: false };
  const state = coreState({ grants: [grant] });
  const agent = await startFakeAgent((method) =>
    method === 'env' ? { grants: [{ grantId: grant.grantId, systemId: 'prod-db', expiresAt: grant.expiresAt, env: { PGPASSWORD: 'x' } }] } : state,
  );
  const stint = join(REPO, 'cli/dist/stint.mjs');
  const env = { ...process.env, STINT_RUNTIME_DIR: agent.dir, NODE_OPTIONS: '' };
  const cases: [string, string[]][] = [
    ['node', ['-e', '0']],
    ['version', [stint, '--version']],
    ['status', [stint, 'status']],
    ['env', [stint, 'env', '--shell', 'bash']],
    ['ls_json', [stint, 'ls', '--json']],
    ['help', [stint, '--help']],
  ];
  const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, args] of cases) {
        const started = performance.now();
        await run(process.execPath, args, { env });
        times.get(name)!.push(performance.now() - started);
      }
    }
  } finally {
    agent.close();
  }
  const node = median(times.get('node')!);
  const figures: Record<string, { value: number; unit: string }> = { cli_node_baseline_ms: { value: Math.round(node), unit: 'ms (node -e 0, median)' } };
  for (const [name] of cases.slice(1)) {
    const ms = median(times.get(name)!);
    figures[`cli_start_ratio_${name}`] = { value: Number((ms / node).toFixed(2)), unit: `x node -e 0 (${Math.round(ms)} ms; goal <= 1.5 but help)` };
  }
  figures.cli_env_at_change_ms = { value: Math.round(median(times.get('env')!)), unit: 'ms (the one stint env a prompt pays when grants change)' };
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchCliStart());
}
