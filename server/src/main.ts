#!/usr/bin/env node
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CredentialSealer } from './access/sealer';
import { exportAudit, verifyAudit } from './audit/chain';
import { checkConfigFile, probeConfigFile } from './config/check';
import { ConfigError, loadConfigFile, readSecret } from './config/load';
import type { ServerConfig } from './config/schema';
import { InsightsQuery } from '@stint/contract';
import { PeriodError, systemFacts } from './insights';
import { runReport } from './insights/report';
import { devConfig, withDevCatalog } from './dev/catalog';
import { startServer, createLogger, type RunningServer } from './server';
import { loadCertificateAuthority } from './providers/ssh';
import { openStore } from './store/database';

const USAGE = `stint-server — the Stint approval backend

Usage:
  stint-server dev [--port N] [--idp-port N] [--data-dir DIR] [--catalog FILE]
      Dev mode: SQLite in DIR (default .stint-dev), a built-in identity provider with demo
      users, and a demo catalog. Set STINT_DATABASE_URL=postgres://... to use PostgreSQL.
      --catalog adds the systems of a YAML file (\`systems:\` only) to the demo catalog.
  stint-server serve --config FILE [--port N] [--host H] [--database URL|PATH]
                     [--token-file F [--id-token-file F]]
      Production mode. The database defaults to STINT_DATABASE_URL, else ./stint.sqlite.
      With --token-file (a person's access token), refuses to start unless the identity
      settings read groups from it (as check-idp shows).
      SIGHUP re-reads FILE; an invalid file is refused and the running config kept.
      Dev mode extras: STINT_DEV_POSTGRES_URL makes prod-db mint real PostgreSQL roles
      (STINT_DEV_POSTGRES_ROLES, default pg_read_all_data); dev-ssh is signed by DIR/ssh-ca.key.
  stint-server check-config FILE [--offline]
      Checks FILE as serve will use it, then reaches every system whose provider can check
      its connection (redis, mariadb, ldap-group) as its admin account, unless --offline.
      Exit 2 when FILE is not valid, 1 when a system cannot be reached or refuses the admin.
  stint-server check-idp --config FILE [--token-file F] [--id-token-file F]
      Reaches the identity provider as FILE says and, given an access token (a file, or "-"
      for standard input; never on the command line), shows the person Stint reads from it
      (with identity.claimsFrom id_token, also the ID token the app would send beside it):
      login, name, email, groups, and which settings to change when something is missing.
      Exit 0 when the token gives groups, 1 when it is refused or gives none.
  stint-server dev-token USER [--data-dir DIR]
      Prints an access token for a demo user of the running dev server's identity provider.
  stint-server audit verify [--database URL|PATH] [--data-dir DIR]
  stint-server audit export [--format jsonl|csv] [--database URL|PATH] [--data-dir DIR]
  stint-server report [--since 7d|DATE] [--until DATE] [--format html|pdf|csv] [--out FILE]
                      [--system ID] [--group NAME] [--config FILE] [--skip-verify]
                      [--database URL|PATH] [--data-dir DIR]
      Auditor insights for a period (docs/insights.md): requests and grants per day, approval
      latency, break-glass uses, how grants ended, top requesters, policy suggestions, each
      with the audit rows behind it. --since is a duration back from --until (default now) or a
      date; --config adds the systems' limits (needed for the "too short" suggestion). HTML and
      CSV go to standard output unless --out; PDF needs --out and Chromium. Progress on stderr.
      Exit 1 (the report still written) when the audit chain does not verify.

Exit codes: 0 ok, 1 failure (e.g. audit chain broken), 2 bad usage or configuration.`;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_DATA_DIR = join(REPO_ROOT, '.stint-dev');
export const DEV_AUDIENCE = 'stint-api';

class UsageError extends Error {}

function options(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      'idp-port': { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      catalog: { type: 'string' },
      database: { type: 'string' },
      format: { type: 'string' },
      'token-file': { type: 'string' },
      'id-token-file': { type: 'string' },
      offline: { type: 'boolean' },
      since: { type: 'string' },
      until: { type: 'string' },
      out: { type: 'string' },
      system: { type: 'string' },
      group: { type: 'string' },
      'skip-verify': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const port = (name: 'port' | 'idp-port', fallback: number) => {
    const raw = values[name] ?? (name === 'port' ? process.env.STINT_PORT : undefined);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 65535) throw new UsageError(`--${name} must be a port number (0-65535), not "${raw}"`);
    return value;
  };
  return { values, positionals, port, dataDir: resolve(values['data-dir'] ?? process.env.STINT_DATA_DIR ?? DEFAULT_DATA_DIR) };
}

function ensureSecretFile(path: string, make: () => string): string {
  if (!existsSync(path)) {
    writeFileSync(path, make(), { mode: 0o600 });
  }
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

function stopOnSignals(server: RunningServer, extra: () => Promise<void> = async () => {}) {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping Stint server...`);
    await server.close();
    await extra();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function dev(args: string[]) {
  const { port, dataDir, values } = options(args);
  const { startDevIdp } = await import('./dev/idp');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const serverPort = port('port', 8787);
  const idp = await startDevIdp({ port: port('idp-port', serverPort === 0 ? 0 : serverPort + 1), dataDir, audience: DEV_AUDIENCE, groupsClaim: 'groups' });
  const credentialKey = ensureSecretFile(join(dataDir, 'credential.key'), CredentialSealer.generateKey);
  const database = process.env.STINT_DATABASE_URL || join(dataDir, 'stint.sqlite');
  const sshCaKeyFile = join(dataDir, 'ssh-ca.key');
  ensureSecretFile(sshCaKeyFile, () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  // sshd's TrustedUserCAKeys wants the public half as one OpenSSH line.
  writeFileSync(join(dataDir, 'ssh-ca.pub'), `${loadCertificateAuthority(readFileSync(sshCaKeyFile, 'utf8')).key.line} stint-dev-ca\n`);
  // The dev rota: nobody is on call until someone edits it (docs/on-call.md has the format).
  const onCallFile = join(dataDir, 'oncall.json');
  if (!existsSync(onCallFile)) writeFileSync(onCallFile, `${JSON.stringify({ schedules: { primary: [] } }, null, 2)}\n`);
  const demo = devConfig(idp.issuer, DEV_AUDIENCE, {
    sshCaKeyFile,
    onCallFile,
    ...(process.env.STINT_DEV_POSTGRES_URL ? { postgresUrlEnv: 'STINT_DEV_POSTGRES_URL' } : {}),
    ...(process.env.STINT_DEV_POSTGRES_ROLES ? { postgresRoles: process.env.STINT_DEV_POSTGRES_ROLES.split(',') } : {}),
  });
  const config = values.catalog ? withDevCatalog(demo, resolve(values.catalog)) : demo;
  const server = await startServer({ config, credentialKey, database, port: serverPort, devMode: true, logger: createLogger() });
  // Where clients and `dev-token` find this dev server; no secrets in it.
  writeFileSync(join(dataDir, 'dev.json'), `${JSON.stringify({ serverUrl: server.url, issuer: idp.issuer, clientId: idp.clientId, audience: DEV_AUDIENCE }, null, 2)}\n`);
  stopOnSignals(server, () => idp.close());
  console.log(`
Stint dev server is up.
  API        ${server.url}/v1   (OpenAPI: ${server.url}/v1/openapi.json, health: ${server.url}/healthz)
  IdP        ${idp.issuer}   (discovery: ${idp.issuer}/.well-known/openid-configuration)
  Client id  ${idp.clientId} (public, PKCE, loopback redirect on any port)
  Database   ${server.store.description}
  Data       ${dataDir}
  SSH CA     ${join(dataDir, 'ssh-ca.pub')} (TrustedUserCAKeys for a test sshd; KRL at ${server.url}/v1/ssh/krl)
  On call    ${onCallFile} (whoever it lists for schedule "primary" now gets prod-db without review, up to 1h)
  prod-db    ${process.env.STINT_DEV_POSTGRES_URL ? 'real PostgreSQL roles (STINT_DEV_POSTGRES_URL)' : 'demo tokens (set STINT_DEV_POSTGRES_URL=postgres://admin@host/db for real roles)'}
Demo users (dev only):
${idp.users.map((u) => `  ${u.id.padEnd(6)} password ${u.password.padEnd(22)} ${u.role.padEnd(18)} groups: ${u.groups.join(', ')}`).join('\n')}
Get a token for scripts: npm run stint-server -- dev-token alice
`);
}

async function serve(args: string[]) {
  const { values, port } = options(args);
  if (!values.config) throw new UsageError('serve needs --config FILE');
  const file = resolve(values.config);
  const config = checkConfigFile(file);
  // A first deployment's check: a real person's token must give groups as the identity settings
  // say, or the server does not start (everyone would see an empty catalog).
  const tokenFile = values['token-file'];
  if (tokenFile) {
    const problems: string[] = [];
    if (!(await personFromToken(config, tokenFile, values['id-token-file'], () => undefined, (line) => problems.push(line)))) {
      throw new ConfigError(file, [`the identity settings give no groups for the token in ${tokenFile}: ${problems.join('; ') || 'the token has none where identity.claimsFrom and identity.claims.groups say (stint-server check-idp shows what it gives)'}`]);
    }
  }
  const credentialKey = readSecret(config.credentialKey, 'credentialKey');
  const database = values.database ?? process.env.STINT_DATABASE_URL ?? resolve('stint.sqlite');
  const server = await startServer({ config, credentialKey, database, port: port('port', 8787), host: values.host ?? process.env.STINT_HOST ?? '127.0.0.1' });
  process.on('SIGHUP', () => {
    try {
      server.reload(checkConfigFile(file));
    } catch (error) {
      server.ctx.log.error({ err: (error as Error).message }, 'configuration reload refused; keeping the running configuration');
    }
  });
  stopOnSignals(server);
  console.log(`Stint server listening on ${server.url} (${server.store.description})`);
}

async function checkConfig(args: string[]): Promise<number> {
  const { values, positionals } = options(args);
  const file = positionals[0];
  if (!file) throw new UsageError('check-config needs a FILE');
  const config = checkConfigFile(resolve(file));
  console.log(`${file} is a valid Stint configuration.`);
  if (values.offline) return 0;
  const { reached, problems } = await probeConfigFile(resolve(file), config);
  for (const id of reached) console.log(`  ${id}: reached`);
  if (problems.length === 0) return 0;
  console.error(`${problems.length} system(s) could not be reached as configured:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return 1;
}

/**
 * The person Stint reads from a real token as a configuration says: printed line by line, and
 * whether it gave groups (a person without groups sees no systems).
 */
async function personFromToken(config: ServerConfig, tokenFile: string, idTokenFile: string | undefined, say: (line: string) => void, problem: (line: string) => void): Promise<boolean> {
  const { verifierFor, AuthError } = await import('./auth/verifier');
  const verifier = verifierFor(config, { devMode: false });
  const reached = await verifier.warmUp();
  say(`identity provider ${config.issuer}: ${reached ? 'reached' : 'NOT reached'} (${verifier.state().idp.detail})`);
  if (!reached) return false;
  const read = (file: string) => (file === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(file), 'utf8')).trim();
  const token = read(tokenFile);
  if (config.identity.claimsFrom === 'id_token' && !idTokenFile) {
    problem('identity.claimsFrom is id_token: give the ID token the app got at the same sign-in too (--id-token-file F).');
    return false;
  }
  try {
    const who = await verifier.verify(`Bearer ${token}`, idTokenFile && idTokenFile !== tokenFile ? read(idTokenFile) : undefined);
    const { mapping } = verifier.state();
    say(`token accepted (claims from ${config.identity.claimsFrom})`);
    say(`  sub     ${who.sub}\n  login   ${who.login}${who.login === who.sub ? `   (no "${config.identity.claims.login}" claim: {user} will be the sub; setting identity.claims.login)` : ''}`);
    say(`  name    ${who.name ?? `(none; setting identity.claims.name)`}\n  email   ${who.email ?? '(none; setting identity.claims.email)'}`);
    say(`  groups  ${who.groups.length > 0 ? who.groups.join(', ') : `(none) ${mapping.detail}`}`);
    say(`  admin   ${who.isAdmin ? 'yes' : 'no'}   auditor ${who.isAuditor ? 'yes' : 'no'}`);
    return who.groups.length > 0;
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    problem(`token refused: ${error.message}`);
    return false;
  }
}

/** Checks the IdP settings of a configuration against the IdP itself, and a real token if given. */
async function checkIdp(args: string[]): Promise<number> {
  const { values } = options(args);
  if (!values.config) throw new UsageError('check-idp needs --config FILE');
  const config = checkConfigFile(resolve(values.config));
  const tokenFile = values['token-file'];
  if (!tokenFile) {
    const { verifierFor } = await import('./auth/verifier');
    const verifier = verifierFor(config, { devMode: false });
    const reached = await verifier.warmUp();
    console.log(`identity provider ${config.issuer}: ${reached ? 'reached' : 'NOT reached'} (${verifier.state().idp.detail})`);
    if (reached) console.log('Give an access token (--token-file F, or - for standard input) to see the person Stint reads from it.');
    return reached ? 0 : 1;
  }
  return (await personFromToken(config, tokenFile, values['id-token-file'], console.log, console.error)) ? 0 : 1;
}

async function devToken(args: string[]) {
  const { positionals, dataDir } = options(args);
  const user = positionals[0];
  if (!user) throw new UsageError('dev-token needs a user, e.g. `stint-server dev-token alice`');
  const devFile = join(dataDir, 'dev.json');
  if (!existsSync(devFile)) throw new UsageError(`No dev server has run with data dir ${dataDir}; dev tokens exist only in dev mode. Start one with \`npm run server:dev\`.`);
  const dev = JSON.parse(readFileSync(devFile, 'utf8')) as { issuer: string; audience: string };
  const { createDevIdpForMinting } = await import('./dev/idp');
  const idp = await createDevIdpForMinting({ issuer: dev.issuer, port: 0, dataDir, audience: dev.audience, groupsClaim: 'groups' });
  process.stdout.write(`${await idp.mintAccessToken(user)}\n`);
}

async function audit(args: string[]) {
  const { values, positionals, dataDir } = options(args);
  const database = values.database ?? process.env.STINT_DATABASE_URL ?? join(dataDir, 'stint.sqlite');
  const store = await openStore(database);
  try {
    if (positionals[0] === 'verify') {
      const result = await verifyAudit(store.db);
      if (result.ok) {
        console.log(`audit chain intact: ${result.rows} rows verified (${store.description})`);
        return 0;
      }
      console.error(`audit chain BROKEN at row ${result.seq}: ${result.problem}. ${result.rows} rows before it verified.`);
      return 1;
    }
    if (positionals[0] === 'export') {
      const format = values.format ?? 'jsonl';
      if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format is jsonl or csv');
      for await (const chunk of exportAudit(store.db, format)) process.stdout.write(chunk);
      return 0;
    }
    throw new UsageError('audit takes verify or export');
  } finally {
    await store.close();
  }
}

async function report(args: string[]) {
  const { values, dataDir } = options(args);
  const format = values.format ?? 'html';
  if (format !== 'html' && format !== 'pdf' && format !== 'csv') throw new UsageError('--format is html, pdf or csv');
  if (format === 'pdf' && !values.out) throw new UsageError('--format pdf needs --out FILE');
  const filter = InsightsQuery.pick({ system: true, group: true }).safeParse({ system: values.system, group: values.group });
  if (!filter.success) throw new UsageError(filter.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  const config = values.config ? loadConfigFile(resolve(values.config)) : null;
  const out = values.out ? resolve(values.out) : null;
  const chunks: (string | Buffer)[] = [];
  let chainIntact = true;
  try {
    await runReport({
      database: values.database ?? process.env.STINT_DATABASE_URL ?? join(dataDir, 'stint.sqlite'),
      systems: systemFacts(config),
      since: values.since ?? '7d',
      until: values.until,
      system: filter.data.system ?? null,
      group: filter.data.group ?? null,
      format,
      out,
      verify: !values['skip-verify'],
      say: (line) => console.error(`stint-server report: ${line}`),
      write: (data) => (out ? chunks.push(data) : process.stdout.write(data)),
      onChain: (intact) => (chainIntact = intact),
    });
  } catch (error) {
    if (error instanceof PeriodError) throw new UsageError(error.message);
    throw error;
  }
  if (out) {
    writeFileSync(out, typeof chunks[0] === 'string' ? chunks.join('') : Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))));
    console.error(`stint-server report: wrote ${out}`);
  }
  // A scheduled run must fail loudly when the log was altered; the report itself says so too.
  return chainIntact ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'dev':
        await dev(rest);
        return -1;
      case 'serve':
        await serve(rest);
        return -1;
      case 'check-config':
        return await checkConfig(rest);
      case 'check-idp':
        return await checkIdp(rest);
      case 'dev-token':
        await devToken(rest);
        return 0;
      case 'audit':
        return await audit(rest);
      case 'report':
        return await report(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      console.error(`stint-server: ${error.message}${error instanceof UsageError ? '\nRun `stint-server --help` for usage.' : ''}`);
      return 2;
    }
    console.error(`stint-server: ${(error as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main(process.argv.slice(2)).then((code) => {
    if (code >= 0) process.exit(code);
  });
}
