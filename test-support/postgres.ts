// Throwaway PostgreSQL clusters for tests: a real server, started in about a second, that
// a test can also stop and start again to play an outage. Uses Debian's server binaries
// (scripts/install-deps.sh installs them).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

export interface PostgresCluster {
  port: number;
  host: '127.0.0.1';
  /** Holds the Unix socket too (`-k`); also the cluster's scratch folder. */
  socketDir: string;
  /** postgres://postgres@127.0.0.1:PORT/postgres — trust auth, superuser. */
  adminUrl: string;
  /** Fast shutdown; the data stays, so start() brings the same cluster back. */
  stop(): Promise<void>;
  /** Starts again after stop(), same data, same port. */
  start(): Promise<void>;
  /** Stops (if running) and deletes the data. The cluster cannot be started again. */
  destroy(): Promise<void>;
}

export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database, disconnecting whoever is still connected. Idempotent. */
  drop(): Promise<void>;
}

const HOST = '127.0.0.1';
const PG_ROOT = '/usr/lib/postgresql';
const START_ATTEMPTS = 5;

// PostgreSQL refuses to run as root, so as root (CI, these machines) every server binary
// runs as Debian's `postgres` user; as anyone else it runs as that user directly.
const asRoot = process.getuid?.() === 0;

/** Newest installed server version's bin/ (Debian: /usr/lib/postgresql/<major>/bin). */
function serverBinDir(): string {
  let majors: number[] = [];
  try {
    majors = readdirSync(PG_ROOT)
      .filter((entry) => /^\d+$/.test(entry) && existsSync(path.join(PG_ROOT, entry, 'bin', 'initdb')))
      .map(Number)
      .sort((a, b) => b - a);
  } catch {
    // No PostgreSQL at all: reported below.
  }
  if (majors[0] === undefined) {
    throw new Error(`No PostgreSQL server under ${PG_ROOT}/<version>/bin; run: bash scripts/install-deps.sh`);
  }
  return path.join(PG_ROOT, String(majors[0]), 'bin');
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('No `postgres` user to run PostgreSQL as (root may not); run: bash scripts/install-deps.sh');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** argv for a server binary, dropping root when needed. */
function serverCommand(binary: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
}

/** The caller's PG* variables (PGPORT, PGDATA, ...) must not leak into our cluster. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C' };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG') && key !== 'LC_ALL') env[key] = value;
  }
  return env;
}

async function runServerTool(binary: string, args: string[], cwd: string): Promise<void> {
  const [command, argv] = serverCommand(binary, args);
  try {
    // cwd: the postgres user cannot enter /root, and initdb complains when it cannot.
    await execFileAsync(command, argv, { cwd, env: serverEnv() });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${path.basename(binary)} ${args.at(-1) ?? ''} failed: ${stderr || stdout || String(error)}`, {
      cause: error,
    });
  }
}

/** A port the kernel just handed out; another process may take it first, hence retries. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    return (await readFile(file)).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

// `pg_ctl` detaches the server, so a cluster left running would outlive the test run,
// holding a port and a data folder in /tmp. Two nets catch what destroy() did not:
// - an 'exit' hook stops it synchronously (covers Ctrl-C: vitest then calls process.exit);
// - a watchdog process stops it within a second of our process dying without 'exit'
//   (vitest ends its fork workers with SIGTERM/SIGKILL; crashes; kill -9).
const WATCHDOG = `
owner=$1; dir=$2; shift 2
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
"$@" >/dev/null 2>&1
rm -rf "$dir"
`;

function startWatchdog(dir: string, stopCommand: [string, string[]]): ChildProcess {
  const [command, argv] = stopCommand;
  const watchdog = spawn('sh', ['-c', WATCHDOG, 'stint-pg-watchdog', String(process.pid), dir, command, ...argv], {
    cwd: dir,
    env: serverEnv(),
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  return watchdog;
}

const live = new Map<string, () => void>();
let exitHookInstalled = false;

/** Stops every cluster this process started and deletes its data, synchronously. */
function destroyAllClustersSync(): void {
  for (const destroyNow of [...live.values()]) destroyNow();
}

function track(dir: string, destroyNow: () => void): void {
  live.set(dir, destroyNow);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', destroyAllClustersSync);
  }
}

export async function startPostgresCluster(opts: { name?: string } = {}): Promise<PostgresCluster> {
  const bin = serverBinDir();
  const pgCtl = path.join(bin, 'pg_ctl');
  const label = (opts.name ?? 'pg').replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 20);
  // Short path: the socket path (dir + /.s.PGSQL.<port>) must fit in 107 bytes.
  const dir = await mkdtemp(path.join(os.tmpdir(), `stint-${label}-`));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');

  let running = false;
  let destroyed = false;
  const stopNowCommand = serverCommand(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
  const watchdog = startWatchdog(dir, stopNowCommand);

  const destroyNow = (): void => {
    live.delete(dir);
    destroyed = true;
    watchdog.kill();
    if (running) {
      running = false;
      const [command, argv] = stopNowCommand;
      try {
        execFileSync(command, argv, { cwd: dir, env: serverEnv(), stdio: 'ignore' });
      } catch {
        // Already gone; the folder is removed either way.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  track(dir, destroyNow);

  try {
    if (asRoot) {
      const { uid, gid } = postgresUser();
      await chown(dir, uid, gid);
    }
    await runServerTool(
      path.join(bin, 'initdb'),
      // --no-sync: durability of a throwaway cluster is worth nothing; saves most of initdb.
      ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      dir,
    );
    // Speed over durability, as above. The port is not written here but passed at start
    // (-p), so a first start that loses the race for its port can retry with another.
    await appendFile(
      path.join(dataDir, 'postgresql.conf'),
      [
        '',
        '# test-support/postgres.ts',
        `listen_addresses = '${HOST}'`,
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 200',
        '',
      ].join('\n'),
    );
  } catch (error) {
    destroyNow();
    throw error;
  }

  let port = 0;
  const pgCtlStart = async (): Promise<{ ok: true } | { ok: false; error: Error; portTaken: boolean }> => {
    const logOffset = await sizeOf(logFile);
    try {
      await runServerTool(pgCtl, ['-D', dataDir, '-l', logFile, '-o', `-p ${port}`, '-w', '-t', '60', 'start'], dir);
      running = true;
      return { ok: true };
    } catch (error) {
      const log = await readFrom(logFile, logOffset);
      const portTaken = /already in use|could not create any TCP\/IP sockets/i.test(log);
      return { ok: false, portTaken, error: new Error(`${(error as Error).message}\n${log}`.trim(), { cause: error }) };
    }
  };

  const start = async (): Promise<void> => {
    if (destroyed) throw new Error(`cluster in ${dir} was destroyed`);
    if (running) return;
    const result = await pgCtlStart();
    if (!result.ok) throw result.error;
  };

  const stop = async (): Promise<void> => {
    if (!running) return;
    await runServerTool(pgCtl, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], dir);
    running = false;
  };

  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const result = await pgCtlStart();
      if (result.ok) break;
      if (!result.portTaken || attempt >= START_ATTEMPTS) throw result.error;
    }
  } catch (error) {
    destroyNow();
    throw error;
  }

  return {
    port,
    host: HOST,
    socketDir: dir,
    adminUrl: `postgres://postgres@${HOST}:${port}/postgres`,
    start,
    stop,
    destroy: async () => {
      if (destroyed) return;
      // A clean stop first; if that fails, destroyNow() kills it (-m immediate).
      await stop().catch(() => undefined);
      destroyNow();
    },
  };
}

async function asAdmin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database on the cluster behind `adminUrl`, for one test file or test. */
export async function createDatabase(adminUrl: string, name?: string): Promise<TestDatabase> {
  const dbName = name ?? `test_${randomBytes(8).toString('hex')}`;
  const quoted = pg.escapeIdentifier(dbName);
  await asAdmin(adminUrl, `CREATE DATABASE ${quoted}`);
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(dbName)}`;
  return {
    url: url.toString(),
    name: dbName,
    drop: () => asAdmin(adminUrl, `DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`),
  };
}
