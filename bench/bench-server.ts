/**
 * The approval server for load benchmarks, in a process of its own (so the load tool does not
 * share its CPU): the dev IdP, the demo catalog, no rate limit, SQLite or PostgreSQL. Prints one
 * JSON line {url, tokens} once it serves, and runs until SIGTERM.
 *   npx tsx bench/bench-server.ts [--database URL|PATH]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { CredentialSealer } from '../server/src/access/sealer';
import { devConfig } from '../server/src/dev/catalog';
import { startDevIdp } from '../server/src/dev/idp';
import { startServer } from '../server/src/server';

const { values } = parseArgs({ options: { database: { type: 'string' } } });
const dir = mkdtempSync(join(tmpdir(), 'stint-bench-server-'));
const idp = await startDevIdp({ port: 0, dataDir: dir, audience: 'stint-api', groupsClaim: 'groups' });
const config = { ...devConfig(idp.issuer, 'stint-api'), rateLimit: { perMinute: 0 } };
const server = await startServer({
  config,
  credentialKey: CredentialSealer.generateKey(),
  database: values.database ?? join(dir, 'bench.sqlite'),
  devMode: true,
  logger: pino({ level: 'silent' }),
});
const tokens: Record<string, string> = {};
for (const user of ['alice', 'bob', 'carol', 'dana']) tokens[user] = await idp.mintAccessToken(user);
console.log(JSON.stringify({ url: server.url, tokens }));
process.once('SIGTERM', async () => {
  await server.close();
  await idp.close();
  process.exit(0);
});
