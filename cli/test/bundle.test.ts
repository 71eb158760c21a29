import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The bundled `stint` the desktop app ships (cli/build.mjs), laid out as in the app's
 * resources: the bundle, its chunks and its launcher alone in a folder, no node_modules above it.
 */
describe('the bundled stint command, as shipped', () => {
  const shipped = mkdtempSync(join(tmpdir(), 'stint-resources-'));
  beforeAll(() => {
    execFileSync(process.execPath, [join(CLI, 'build.mjs'), '--outdir', shipped], { stdio: 'inherit' });
    copyFileSync(join(CLI, 'packaged/stint'), join(shipped, 'stint'));
  }, 60_000);

  const stint = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(join(shipped, 'stint'), args, { cwd: shipped, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', ...env } });

  it('runs with nothing but Node.js beside it: help, hook, and the exit code for "not running"', () => {
    const help = stint(['--help']);
    expect(help.stderr).toBe('');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:/);
    const hook = stint(['hook', 'bash']);
    expect(hook.status).toBe(0);
    expect(hook.stdout).toMatch(/__stint_hook/);
    const none = stint(['env', '--json'], { STINT_RUNTIME_DIR: join(shipped, 'nobody') });
    expect(none.status).toBe(5);
    expect(none.stderr).toMatch(/Stint is not running/);
  });

  it('runs `stint agent` as one process, from the built JavaScript: no tsx, no child Node', async () => {
    // Built inside the checkout, as `npm install` does, so the keychain module resolves from node_modules.
    const built = mkdtempSync(join(CLI, '.dist-test-'));
    const home = mkdtempSync(join(tmpdir(), 'stint-agent-one-'));
    try {
      execFileSync(process.execPath, [join(CLI, 'build.mjs'), '--outdir', built], { stdio: 'inherit' });
      const env = { ...process.env, NODE_OPTIONS: '', STINT_RUNTIME_DIR: join(home, 'run'), STINT_DATA_DIR: join(home, 'data'), STINT_KEYCHAIN_SERVICE: `stint-test-one-${process.pid}` };
      const agent = spawn(process.execPath, [join(built, 'stint.mjs'), 'agent'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      try {
        let said = '';
        await new Promise<void>((ready, fail) => {
          agent.stderr!.on('data', (chunk: Buffer) => {
            said += chunk;
            if (said.includes('Stint agent running')) ready();
          });
          agent.once('exit', (code) => fail(new Error(`the agent stopped (exit ${code}): ${said}`)));
        });
        expect(spawnSync('pgrep', ['-P', String(agent.pid)], { encoding: 'utf8' }).stdout.trim()).toBe('');
        // And it answers the quick commands, through its socket.
        const status = spawnSync(process.execPath, [join(built, 'stint.mjs'), 'status', '--json'], { env, encoding: 'utf8' });
        expect(status.status, status.stderr).toBe(0);
        expect(JSON.parse(status.stdout).auth.status).toBe('signed-out');
      } finally {
        agent.kill();
      }
    } finally {
      rmSync(built, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
