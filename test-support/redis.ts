// A throwaway Redis server for tests: Debian's redis-server (scripts/install-deps.sh installs
// it) on 127.0.0.1 with a port picked here, its users in an ACL file in its own folder, nothing
// written to disk but that file. A test can stop and start it again to play an outage or to
// see what the ACL file kept.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './postgres';

const HOST = '127.0.0.1';
const REDIS_SERVER = '/usr/bin/redis-server';
const START_ATTEMPTS = 5;
const START_TIMEOUT_MS = 10_000;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export const REDIS_CLI = '/usr/bin/redis-cli';

export interface RedisServer {
  host: typeof HOST;
  port: number;
  dir: string;
  /** The ACL file (`--aclfile`), or null for a server started without one. */
  aclFile: string | null;
  /** redis://stint_admin:PASSWORD@127.0.0.1:PORT: a user with only what the provider needs. */
  adminUrl: string;
  adminPassword: string;
  /**
   * Runs redis-cli as `root` (+@all: the test's own checks, like the superuser of
   * test-support/postgres.ts). The `default` user is off, so a login that fails is not quietly
   * carried on as someone else, as redis-cli does after a failed AUTH.
   */
  cli(args: string[]): CliResult;
  /** SIGTERM and wait. Nothing is saved on the way out (no RDB, no AOF): only the ACL file stays. */
  stop(): Promise<void>;
  /** Starts again after stop(), same port, same ACL file. */
  start(): Promise<void>;
  /** Stops (if running) and deletes the folder. Idempotent. */
  destroy(): Promise<void>;
}

/** The provider's admin: ACL management, killing clients and reading the aclfile setting. */
export const REDIS_ADMIN_RULES = '-@all +acl +client|kill +config|get';

// A test process killed outright (vitest ends fork workers with SIGKILL) cannot stop its
// server; the watchdog does, within a second, and removes the folder.
const WATCHDOG = `
owner=$1; pidfile=$2; dir=$3
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
[ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
rm -rf "$dir"
`;

export async function startRedis(opts: { aclFile?: boolean } = {}): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) throw new Error(`No ${REDIS_SERVER}; run: bash scripts/install-deps.sh`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stint-redis-'));
  const pidFile = path.join(dir, 'redis.pid');
  const logFile = path.join(dir, 'redis.log');
  const useAclFile = opts.aclFile ?? true;
  const aclFile = useAclFile ? path.join(dir, 'users.acl') : null;
  const adminPassword = `adm-${randomBytes(12).toString('hex')}`;
  const rootPassword = `root-${randomBytes(12).toString('hex')}`;
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const users = [`default off`, `root on #${sha256(rootPassword)} ~* &* +@all`, `stint_admin on #${sha256(adminPassword)} ${REDIS_ADMIN_RULES}`];
  if (aclFile) await writeFile(aclFile, users.map((u) => `user ${u}\n`).join(''));

  const watchdog = spawn('sh', ['-c', WATCHDOG, 'stint-redis-watchdog', String(process.pid), pidFile, dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  let port = 0;
  let child: ChildProcess | null = null;
  let destroyed = false;
  const killNow = () => {
    child?.kill('SIGKILL');
    child = null;
  };
  process.on('exit', killNow);

  const args = () => [
    '--port', String(port),
    '--bind', HOST,
    '--dir', dir,
    '--pidfile', pidFile,
    '--logfile', logFile,
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    // Without an ACL file the users come from the configuration (here: the command line).
    ...(aclFile ? ['--aclfile', aclFile] : users.flatMap((u) => ['--user', ...u.split(' ')])),
  ];

  const cli = (cliArgs: string[]): CliResult => {
    const result = spawnSync(REDIS_CLI, ['--user', 'root', '-h', HOST, '-p', String(port), ...cliArgs], {
      encoding: 'utf8',
      timeout: 15_000,
      env: { PATH: process.env.PATH, REDISCLI_AUTH: rootPassword },
    });
    return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
  };

  /** Starts on `port`; resolves once PING answers, or rejects with the log (and whether the port was taken). */
  const launch = async (): Promise<void> => {
    const proc = spawn(REDIS_SERVER, args(), { stdio: 'ignore' });
    child = proc;
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      if (child === proc) child = null;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited) break;
      if (cli(['PING']).stdout === 'PONG') return;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    proc.kill('SIGKILL');
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
    throw Object.assign(new Error(`redis-server on port ${port} did not start:\n${log}`), { portTaken: /Address already in use/.test(log) });
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
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await launch();
        break;
      } catch (error) {
        if (!(error as { portTaken?: boolean }).portTaken || attempt >= START_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    host: HOST,
    port,
    dir,
    aclFile,
    adminUrl: `redis://stint_admin:${adminPassword}@${HOST}:${port}`,
    adminPassword,
    cli,
    stop,
    start: async () => {
      if (destroyed) throw new Error(`redis in ${dir} was destroyed`);
      if (child) return;
      await launch();
    },
    destroy,
  };
}
