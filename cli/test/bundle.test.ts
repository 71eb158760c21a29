import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The one-file `stint` the desktop app ships (cli/build.mjs), run as a user would run it. */
describe('the bundled stint command', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(CLI, 'build.mjs')], { stdio: 'inherit' });
  }, 60_000);

  it('runs with nothing but Node.js: help, exit codes, and the launcher script', () => {
    const help = spawnSync(join(CLI, 'packaged/stint'), ['--help'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:/);
    const none = spawnSync(process.execPath, [join(CLI, 'dist/stint.mjs'), 'env', '--json'], { encoding: 'utf8', env: { ...process.env, STINT_RUNTIME_DIR: '/tmp/stint-bundle-nobody' } });
    expect(none.status).toBe(5);
    expect(none.stderr).toMatch(/Stint is not running/);
    const hook = spawnSync(process.execPath, [join(CLI, 'dist/stint.mjs'), 'hook', 'bash'], { encoding: 'utf8' });
    expect(hook.stdout).toMatch(/__stint_hook/);
  });
});
