/**
 * `npm run bench`: every benchmark, a table, and bench/results.json (one key per figure, with
 * units). Benchmarks are not tests: they measure, and the README says which goals they meet.
 * `npm run bench -- hook sse` runs only the suites whose names contain those words.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './processes';

type Figures = Record<string, { value: number; unit: string }>;
// The filter words are taken off argv before any suite loads: some read their own flags with
// parseArgs when imported, and would refuse the words as stray arguments.
const only = process.argv.splice(2);
// Each suite is imported when it runs, so a filtered run loads only what it runs.
const suites: [string, () => Promise<Figures> | Figures][] = [
  ['shell hook', async () => (await import('./hook')).benchHook()],
  ['renderer size', async () => (await import('./renderer-size')).benchRendererSize()],
  ['approval to keychain', async () => (await import('./approval-latency')).benchApprovalLatency(40)],
  ['approval to shell', async () => (await import('./approval-to-shell')).benchApprovalToShell(20)],
  ['client wipe lateness', async () => (await import('./wipe-lateness')).benchWipeLateness(60)],
  ['api read vs fastify', async () => (await import('./api-read')).benchApiRead()],
  ['create + approve', async () => (await import('./create-approve')).benchCreateApprove()],
  ['cli start', async () => (await import('./cli-start')).benchCliStart()],
  ['sse fan-out', async () => (await import('./sse-fanout')).benchSseFanout(10_000, 5)],
  ['server revoke lateness', async () => (await import('./revoke-lateness')).benchRevokeLateness(100_000, 120)],
  ['provider revoke on real targets', async () => (await import('./provider-revoke')).benchProviderRevoke(30, 15)],
];

const results: Figures = {};
const startedAll = performance.now();
for (const [name, run] of suites) {
  if (only.length && !only.some((word) => name.includes(word))) continue;
  const started = performance.now();
  console.log(`\n== ${name}`);
  Object.assign(results, await run());
  console.log(`   (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
console.log('\nfigure                                   value        unit');
for (const [key, { value, unit }] of Object.entries(results)) console.log(`${key.padEnd(40)} ${String(value).padStart(12)} ${unit}`);
console.log(`\nall benchmarks: ${((performance.now() - startedAll) / 1000).toFixed(0)} s`);
if (only.length === 0) {
  writeFileSync(join(REPO, 'bench/results.json'), `${JSON.stringify({ measuredAt: new Date().toISOString(), machine: '2 cores, Debian 12, Node 20', results }, null, 2)}\n`);
  console.log(`wrote ${join(REPO, 'bench/results.json')}`);
}
process.exit(0);
