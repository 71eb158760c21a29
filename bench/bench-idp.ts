/**
 * The dev identity provider for load benchmarks, in a process of its own, as a real IdP is in
 * a deployment. (In the server's process, oidc-provider's AsyncLocalStorage turns on Node's
 * promise hooks for every request the server answers: ~3% of a read's profile, and create +
 * approve went from ~620 to ~715-770 pairs/s when the IdP moved out; no
 * production server pays that.) Prints one JSON line {issuer, tokens, dataDir} and runs until
 * SIGTERM: tokens of the seeded people, and the folder with its signing key, for a load tool
 * that needs many more people (one person has one live grant per system; test-support/tokens.ts).
 *   npx tsx bench/bench-idp.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevIdp } from '../server/src/dev/idp';

const BENCH_AUDIENCE = 'stint-api';
const BENCH_USERS = ['alice', 'bob', 'carol', 'dana'] as const;

const dir = mkdtempSync(join(tmpdir(), 'stint-bench-idp-'));
const idp = await startDevIdp({ port: 0, dataDir: dir, audience: BENCH_AUDIENCE, groupsClaim: 'groups' });
const tokens: Record<string, string> = {};
for (const user of BENCH_USERS) tokens[user] = await idp.mintAccessToken(user);
console.log(JSON.stringify({ issuer: idp.issuer, tokens, dataDir: dir }));
process.once('SIGTERM', async () => {
  await idp.close();
  process.exit(0);
});
