// A throwaway MariaDB server for tests: Debian's mariadbd (scripts/install-deps.sh installs it)
// on 127.0.0.1 with a port picked here, its data in its own folder, every statement in a general
// log there. A test can stop and start it again to play an outage.
//
// mariadb-install-db takes about 3 s; the data folder it makes is kept once per server version
// in the system's temp folder and copied (22 MB, tens of milliseconds) for every server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './postgres';
import type { CliResult } from './redis';

const HOST = '127.0.0.1';
const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
export const MARIADB_CLI = '/usr/bin/mariadb';
const START_ATTEMPTS = 5;
const START_TIMEOUT_MS = 20_000;

/**
 * Small and fast rather than durable: a 4 MB redo log, a 16 MB buffer pool, no binary log, no
 * flush at commit. Passed to mariadb-install-db as well, which hands them to its bootstrap server.
 */
const ENGINE_OPTIONS = [
  '--innodb-log-file-size=4M',
  '--innodb-buffer-pool-size=16M',
  '--innodb-flush-log-at-trx-commit=0',
  '--innodb-doublewrite=0',
  '--innodb-use-native-aio=0',
  '--skip-log-bin',
  '--skip-name-resolve',
];

export interface MariaDbServer {
  host: typeof HOST;
  port: number;
  dir: string;
  /** Every statement the server ran (general_log), for tests that look for secrets. */
  generalLog: string;
  /** mysql://stint_admin:PASSWORD@127.0.0.1:PORT: a user with only what the provider needs (MARIADB_ADMIN_PRIVILEGES). */
  adminUrl: string;
  adminPassword: string;
  /**
   * Runs SQL as root over the Unix socket with the mariadb client (batch mode: tab-separated,
   * no column names), for the test's own setup and checks.
   */
  sql(statement: string): CliResult;
  /** SIGTERM and wait (a clean shutdown); the data stays. */
  stop(): Promise<void>;
  /** Starts again after stop(), same port, same data. */
  start(): Promise<void>;
  /** Stops (if running) and deletes the folder. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * What the provider's admin needs on the whole server: make and drop users, see and end every
 * connection. Privileges it hands out it must hold WITH GRANT OPTION (tests add those), and it
 * keeps its ownership marks in the `stint` database.
 */
export const MARIADB_ADMIN_PRIVILEGES = 'CREATE USER, PROCESS, CONNECTION ADMIN ON *.*';
export const MARIADB_MARK_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE, CREATE ON `stint`.*';

// A test process killed outright (vitest ends fork workers with SIGKILL) cannot stop its
// server; the watchdog does, within a second, and removes the folder.
const WATCHDOG = `
owner=$1; pidfile=$2; dir=$3
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
[ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
rm -rf "$dir"
`;

/** A freshly installed data folder for this server version, made once and then copied. */
async function templateDataDir(): Promise<string> {
  const version = spawnSync(MARIADBD, ['--version'], { encoding: 'utf8' }).stdout;
  const key = createHash('sha256').update(version).update(ENGINE_OPTIONS.join(' ')).digest('hex').slice(0, 12);
  const template = path.join(os.tmpdir(), `stint-mariadb-template-${key}`);
  if (existsSync(path.join(template, 'mysql'))) return template;
  // Installed aside and renamed into place, so two test files starting at once never copy a
  // half-made template; the one that loses the rename uses the winner's.
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'stint-mariadb-install-'));
  const data = path.join(scratch, 'data');
  const result = spawnSync(
    INSTALL_DB,
    ['--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db', ...ENGINE_OPTIONS],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (result.status !== 0) {
    rmSync(scratch, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed:\n${result.stdout}${result.stderr}`);
  }
  try {
    renameSync(data, template);
  } catch {
    if (!existsSync(path.join(template, 'mysql'))) throw new Error(`could not place the MariaDB template in ${template}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return template;
}

export async function startMariaDb(): Promise<MariaDbServer> {
  if (!existsSync(MARIADBD) || !existsSync(INSTALL_DB)) throw new Error(`No ${MARIADBD}; run: bash scripts/install-deps.sh`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stint-mariadb-'));
  const dataDir = path.join(dir, 'data');
  const socket = path.join(dir, 'mariadb.sock');
  const pidFile = path.join(dir, 'mariadb.pid');
  const errorLog = path.join(dir, 'error.log');
  const generalLog = path.join(dir, 'general.log');
  const adminPassword = `adm-${randomBytes(12).toString('hex')}`;

  const watchdog = spawn('sh', ['-c', WATCHDOG, 'stint-mariadb-watchdog', String(process.pid), pidFile, dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  let port = 0;
  let child: ChildProcess | null = null;
  let destroyed = false;
  const killNow = () => {
    child?.kill('SIGKILL');
    child = null;
  };
  process.on('exit', killNow);

  const sql = (statement: string): CliResult => {
    const result = spawnSync(MARIADB_CLI, ['--no-defaults', '--user=root', `--socket=${socket}`, '--batch', '--skip-column-names', '--execute', statement], {
      encoding: 'utf8',
      timeout: 15_000,
      env: { PATH: process.env.PATH },
    });
    return { status: result.status, stdout: (result.stdout ?? '').trim(), stderr: (result.stderr ?? '').trim() };
  };

  /** Starts on `port`; resolves once root can run a statement, or rejects with the log (and whether the port was taken). */
  const launch = async (): Promise<void> => {
    const proc = spawn(
      MARIADBD,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        // mariadbd refuses to run as root unless told to.
        '--user=root',
        `--port=${port}`,
        `--bind-address=${HOST}`,
        `--socket=${socket}`,
        `--pid-file=${pidFile}`,
        `--log-error=${errorLog}`,
        '--general-log=1',
        `--general-log-file=${generalLog}`,
        ...ENGINE_OPTIONS,
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      if (child === proc) child = null;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited) break;
      if (existsSync(socket) && sql('SELECT 1').stdout === '1') return;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    proc.kill('SIGKILL');
    const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8').split('\n').slice(-20).join('\n') : '';
    throw Object.assign(new Error(`mariadbd on port ${port} did not start:\n${log}`), { portTaken: /Address already in use|Can't start server: Bind/.test(log) });
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  };

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await stop();
    process.off('exit', killNow);
    watchdog.kill();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    cpSync(await templateDataDir(), dataDir, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await launch();
        break;
      } catch (error) {
        if (!(error as { portTaken?: boolean }).portTaken || attempt >= START_ATTEMPTS) throw error;
      }
    }
    const made = sql(
      `CREATE USER stint_admin@'%' IDENTIFIED BY '${adminPassword}'; GRANT ${MARIADB_ADMIN_PRIVILEGES} TO stint_admin@'%'; GRANT ${MARIADB_MARK_PRIVILEGES} TO stint_admin@'%'`,
    );
    if (made.status !== 0) throw new Error(`could not create the admin user: ${made.stderr}`);
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    host: HOST,
    port,
    dir,
    generalLog,
    adminUrl: `mysql://stint_admin:${adminPassword}@${HOST}:${port}`,
    adminPassword,
    sql,
    stop,
    start: async () => {
      if (destroyed) throw new Error(`mariadb in ${dir} was destroyed`);
      if (child) return;
      await launch();
    },
    destroy,
  };
}
