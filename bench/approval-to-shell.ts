/**
 * approval_to_shell_ms: from an approver's review call until a hooked bash, prompting all the
 * while, has the credential in its environment: SSE to the app, credential into the keychain,
 * the revision file bumped, the prompt hook noticing it and running `stint env` (the bundled
 * CLI the app ships) once. The shell prompts every 2 ms (a `read -t` builtin wait), so the
 * figure is the path's own cost, not a person's typing. Against the dev server and a real
 * `stint agent` on the real keychain. Run alone:
 *   dbus-run-session -- bash scripts/with-keyring.sh npx tsx bench/approval-to-shell.ts [--runs 20]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startAgent } from '../test-support/agent';
import { startDevServer } from '../test-support/dev-server';
import { isMain, percentile, REPO } from './processes';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });

const LOOP = `
eval "$(stint hook bash)"
__stint_hook
fifo=$(mktemp -u); mkfifo "$fifo"; exec 9<>"$fifo"; rm -f "$fifo"
echo ready
while [[ -z "\${STAGING_DB_TOKEN:-}" ]]; do read -t 0.002 -u 9; __stint_hook; done
echo "has-it \${EPOCHREALTIME/./}"
`;

export async function benchApprovalToShell(runs = Number(values.runs)) {
  execFileSync(process.execPath, [join(REPO, 'cli/build.mjs')]);
  const dev = await startDevServer();
  const agent = await startAgent({ serverUrl: dev.serverUrl, user: 'alice' });
  try {
    if (agent.stint(['login']).status !== 0) throw new Error(`sign-in failed:\n${agent.output()}`);
    // The shell finds the bundled `stint`, as in an installed app.
    const bin = join(agent.dir, 'shipped-bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(REPO, 'cli/packaged/stint'), join(bin, 'stint'));
    const env = { ...agent.env, PATH: `${bin}:${process.env.PATH}` };
    const samples: number[] = [];
    for (let i = 0; i < runs + 2; i++) {
      const requested = agent.stint(['request', 'staging-db', '--for', '15m', '--reason', 'bench', '--json']);
      const request = JSON.parse(requested.stdout) as { id: string };
      const shell = spawn('bash', ['--norc', '--noprofile', '-c', LOOP], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      shell.stdout.on('data', (d) => (out += d));
      while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 5));
      const started = Date.now() * 1000;
      const review = await dev.api('bob', 'POST', `/v1/requests/${request.id}/reviews`, { decision: 'approve' });
      if (review.status !== 200) throw new Error(`review answered ${review.status}`);
      await new Promise((r) => shell.once('exit', r));
      const at = Number(/has-it (\d+)/.exec(out)?.[1]);
      if (!at) throw new Error(`the shell never got the credential:\n${out}`);
      if (i >= 2) samples.push((at - started) / 1000); // two warm-up runs
      agent.stint(['release', 'staging-db']);
    }
    const p50 = percentile(samples, 50);
    const p95 = percentile(samples, 95);
    console.log(`approval_to_shell_ms over ${samples.length} runs: p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, max ${Math.max(...samples).toFixed(0)} ms`);
    return {
      approval_to_shell_ms_p50: { value: Math.round(p50), unit: 'ms' },
      approval_to_shell_ms_p95: { value: Math.round(p95), unit: 'ms' },
    };
  } finally {
    await agent.stop();
    await dev.stop();
  }
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await benchApprovalToShell(), null, 2));
  process.exit(0);
}
