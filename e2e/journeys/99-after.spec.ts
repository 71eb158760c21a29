// After the journeys: what they left behind. No issued secret, and no access or ID token, may be
// anywhere but the keychain and memory (agents' settings, runtime folders and logs, the server's
// data folder, database and log), the audit chain verifies, and the audit export holds every
// decision the journeys made.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, run, test, type Decision } from '../stack';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

const SIGNED_JWT = /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/;
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

test('no issued secret or token appears in any file Stint wrote: settings, runtime, logs, database', ({ stack }) => {
  const secrets = [...new Set(lines(run.secretsFile()).map((line) => JSON.parse(line) as string))];
  // Journey 1 alone issues a PostgreSQL password, a database URL and a refresh token.
  expect(secrets.length).toBeGreaterThanOrEqual(3);
  const bookkeeping = new Set([run.secretsFile(), run.decisionsFile()]);
  const files = filesUnder(run.root()).filter((file) => !bookkeeping.has(file));
  // What is scanned: each person's settings and runtime folder and agent log, the server's.
  for (const must of [join(stack.people.alice.dir, 'data', 'settings.json'), stack.people.alice.logFile, stack.server.logFile, join(stack.server.dataDir, 'stint.sqlite')]) {
    expect(files).toContain(must);
  }
  const found: string[] = [];
  let bytes = 0;
  for (const file of files) {
    const content = readFileSync(file);
    bytes += content.length;
    const text = content.toString('latin1');
    for (const secret of secrets) if (text.includes(secret)) found.push(`${file} holds a secret beginning ${secret.slice(0, 4)}…`);
    // Access and ID tokens live only in the agents' memory, so they cannot be listed above;
    // any signed JWT at all in a file would be one of them.
    if (SIGNED_JWT.test(text)) found.push(`${file} holds a signed JWT (an access or ID token)`);
  }
  console.log(`scanned ${files.length} files (${Math.round(bytes / 1024)} KiB) for ${secrets.length} issued secrets`);
  expect(found).toEqual([]);
  expect(statSync(stack.server.logFile).size).toBeGreaterThan(0);
});

test('the audit chain verifies, and its export holds every decision of the run', ({ stack }) => {
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'audit', ...args, '--data-dir', stack.server.dataDir], { encoding: 'utf8' });
  const verify = cli(['verify']);
  expect(verify.status, verify.stderr).toBe(0);
  expect(verify.stdout).toMatch(/audit chain intact: \d+ rows verified/);

  const exported = cli(['export', '--format', 'jsonl']);
  expect(exported.status, exported.stderr).toBe(0);
  const rows = exported.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { actor: string; action: string; targetId: string });
  const decisions = lines(run.decisionsFile()).map((line) => JSON.parse(line) as Decision).filter((d) => d.stack === stack.dir);
  expect(decisions.length).toBeGreaterThanOrEqual(1);
  for (const decision of decisions) {
    expect(rows).toContainEqual(expect.objectContaining({ actor: decision.reviewer, action: `review.${decision.decision}`, targetId: decision.requestId }));
  }
  // Every request the run made is in the log from its creation on.
  expect(rows.filter((row) => row.action === 'request.created').length).toBeGreaterThanOrEqual(decisions.length);
});
