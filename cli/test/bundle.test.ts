import { copyFileSync, mkdtempSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
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
});
