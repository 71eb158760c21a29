/**
 * `npm run bench`: every benchmark, a table, and bench/results.json (one key per figure, with
 * units). Benchmarks are not tests: they measure, and the README says which goals they meet.
 * `npm run bench -- hook sse` runs only the suites whose names contain those words.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchApiRead } from './api-read';
import { benchApprovalLatency } from './approval-latency';
import { benchApprovalToShell } from './approval-to-shell';
import { benchCliStart } from './cli-start';
import { benchCreateApprove } from './create-approve';
import { benchHook } from './hook';
import { REPO } from './processes';
import { benchRendererSize } from './renderer-size';
import { benchRevokeLateness } from './revoke-lateness';
import { benchSseFanout } from './sse-fanout';
import { benchWipeLateness } from './wipe-lateness';

type Figures = Record<string, { value: number; unit: string }>;
const suites: [string, () => Promise<Figures> | Figures][] = [
  ['shell hook', benchHook],
  ['renderer size', benchRendererSize],
  ['approval to keychain', () => benchApprovalLatency(40)],
  ['approval to shell', () => benchApprovalToShell(20)],
  ['client wipe lateness', () => benchWipeLateness(60)],
  ['api read vs fastify', benchApiRead],
  ['create + approve', benchCreateApprove],
  ['cli start', benchCliStart],
  ['sse fan-out', () => benchSseFanout(10_000, 5)],
  ['server revoke lateness', () => benchRevokeLateness(100_000, 120)],
];

const only = process.argv.slice(2);
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
