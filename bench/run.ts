/**
 * `npm run bench`: every benchmark, a table, and bench/results.json (one key per figure, with
 * units). Benchmarks are not tests: they measure, and the README says which goals they meet.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchApprovalLatency } from './approval-latency';
import { benchCreateApprove } from './create-approve';
import { benchHook } from './hook';

type Figures = Record<string, { value: number; unit: string }>;
const here = dirname(fileURLToPath(import.meta.url));
const suites: [string, () => Promise<Figures> | Figures][] = [
  ['shell hook', benchHook],
  ['create + approve', benchCreateApprove],
  ['approval to keychain', () => benchApprovalLatency(40)],
];

const results: Figures = {};
for (const [name, run] of suites) {
  const started = performance.now();
  console.log(`\n== ${name}`);
  Object.assign(results, await run());
  console.log(`   (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
console.log('\nfigure                                   value        unit');
for (const [key, { value, unit }] of Object.entries(results)) console.log(`${key.padEnd(40)} ${String(value).padStart(12)} ${unit}`);
writeFileSync(join(here, 'results.json'), `${JSON.stringify({ measuredAt: new Date().toISOString(), machine: '2 cores, Debian 12, Node 20', results }, null, 2)}\n`);
console.log(`\nwrote ${join(here, 'results.json')}`);
process.exit(0);
