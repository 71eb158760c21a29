import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCredentialEnvName } from '@stint/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bootEpochSeconds, grantVariables, promptFunction, quote, renderEnv, SHELLS, type Shell } from './shell';

describe('the variables built-in providers set', () => {
  it("are all exported by the client: a connect line's $STINT_REDIS_USER is never empty", () => {
    // Read from the providers' source, so a new provider's STINT_ name fails here, not in a
    // person's shell (the Redis and MariaDB lines once ran with their STINT_ names dropped).
    const dir = new URL('../../server/src/providers/', import.meta.url).pathname;
    const names = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/\b(STINT_[A-Z0-9_]+):/g)) names.add(m[1]!);
    }
    expect([...names].sort()).toEqual(expect.arrayContaining(['STINT_MARIADB_USER', 'STINT_REDIS_USER', 'STINT_SSH_USER']));
    const vars = grantVariables([{ grantId: crypto.randomUUID(), systemId: 'cache', expiresAt: '2026-11-24T11:00:00.000Z', env: Object.fromEntries([...names].map((n) => [n, 'x'])) }]);
    expect([...names].filter((n) => !vars.has(n))).toEqual([]);
  });
});

const run = (shell: Shell, script: string) => spawnSync(shell, shell === 'fish' ? ['--no-config', '-c', script] : ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
const hostile = `it's "quoted" $HOME \`id\` $(id) \\ back\nnew line ; rm -rf / #`;

describe.each(SHELLS)('%s output', (shell) => {
  it('quotes any value so the shell reads back exactly the bytes, running nothing', () => {
    const result = run(shell, `${shell === 'fish' ? 'set -gx X' : 'export X='}${shell === 'fish' ? ' ' : ''}${quote(shell, hostile)}; printf '%s' "$X"`);
    expect(result.stdout).toBe(hostile);
  });

  it('exports active grants, unsets names that are gone, and remembers what it set', () => {
    const vars = grantVariables([{ grantId: crypto.randomUUID(), systemId: 'prod-db', expiresAt: '2026-11-24T11:00:00.000Z', env: { PGPASSWORD: hostile, PGUSER: 'stint_alice' } }]);
    const script = `export OLD_TOKEN=stale\n${renderEnv(shell, vars, ['OLD_TOKEN', 'PGUSER'])}\nprintf '%s|%s|%s|%s|%s' "$PGPASSWORD" "$PGUSER" "\${OLD_TOKEN:-gone}" "$STINT_PROD_DB_EXPIRES_AT" "$STINT_EXPIRES_AT"`;
    const fishScript = script.replace('export OLD_TOKEN=stale', 'set -gx OLD_TOKEN stale').replace('"${OLD_TOKEN:-gone}"', '(set -q OLD_TOKEN; and echo $OLD_TOKEN; or echo gone)');
    expect(run(shell, shell === 'fish' ? fishScript : script).stdout).toBe(`${hostile}|stint_alice|gone|1795518000|1795518000`);
  });
});

describe('grant variables', () => {
  it('adds a deadline per system and the soonest overall', () => {
    const vars = grantVariables([
      { grantId: crypto.randomUUID(), systemId: 'prod-db', expiresAt: '2026-11-24T11:00:00.000Z', env: { A: '1' } },
      { grantId: crypto.randomUUID(), systemId: 'dev-ssh', expiresAt: '2026-11-24T10:30:00.000Z', env: { 'BAD NAME': 'x' } },
    ]);
    expect(Object.fromEntries(vars)).toEqual({
      A: '1',
      STINT_PROD_DB_EXPIRES_AT: String(Date.parse('2026-11-24T11:00:00Z') / 1000),
      STINT_DEV_SSH_EXPIRES_AT: String(Date.parse('2026-11-24T10:30:00Z') / 1000),
      STINT_EXPIRES_AT: String(Date.parse('2026-11-24T10:30:00Z') / 1000),
      STINT_SYSTEMS: 'prod-db dev-ssh',
    });
  });
});

// `stint env` output is eval'd by every hooked shell at its next prompt, so it must be data
// whatever a server (or a spoofed socket) sends: for any names and any values, the shell runs
// nothing, holds exactly the allowed names, and reads back exactly the bytes of each value.
describe.each(SHELLS)('%s evaluating `stint env` output for any bytes (property, run by the real shell)', (shell) => {
  const canary = join(mkdtempSync(join(tmpdir(), 'stint-eval-')), 'ran');
  const fragments = ["'", '"', '\\', '`', '$', '$(', ')', '${', '}', '\n', '\r', ';', '&', '|', '#', '%', '*', '?', '~', '!', ' ', '\t', `touch ${canary}`, "'\\''", '\u001b[2K', '\u202e', '\u00ff', '\ud800', '\uf600', '\u{1f600}', 'é'];
  const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.array(fc.constantFrom(...fragments), { maxLength: 12 }).map((parts) => parts.join('')));
  const name = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('PGPASSWORD', 'PROMPT_COMMAND', 'LD_PRELOAD', 'PATH', 'STINT_RUNTIME_DIR', 'X', 'a b', 'A;touch', '1X', `X$(touch ${canary})`));

  it('never runs anything and reproduces each allowed value exactly', () => {
    fc.assert(
      fc.property(fc.dictionary(name, value, { maxKeys: 5 }), fc.array(name, { maxLength: 4 }), (env, previous) => {
        const vars = grantVariables([{ grantId: crypto.randomUUID(), systemId: 'prod-db', expiresAt: '2026-11-24T11:00:00.000Z', env }]);
        for (const varName of vars.keys()) expect(isCredentialEnvName(varName) || varName.startsWith('STINT_'), varName).toBe(true);
        const names = [...vars.keys()];
        const show = names.map((n) => (shell === 'fish' ? `printf '%s\\0' "$${n}"` : `printf '%s\\0' "\${${n}}"`)).join('; ');
        const result = spawnSync(shell, shell === 'fish' ? ['--no-config', '-c', `${renderEnv(shell, vars, previous)}\n${show}`] : ['-c', `${renderEnv(shell, vars, previous)}\n${show}`], {
          env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8' },
          stdio: ['ignore', 'pipe', 'pipe'], // bash with a piped stdin and a bare environment starts ~0.6 s slower here
        });
        expect(result.status, result.stderr.toString()).toBe(0);
        expect(existsSync(canary), 'the eval ran a command').toBe(false);
        const expected = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from(vars.get(n)!, 'utf8'), Buffer.from([0])])));
        expect(result.stdout.toString('hex')).toBe(expected.toString('hex'));
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});

describe('refused names', () => {
  it('never exports a name the server refuses, whatever the socket sent', () => {
    const vars = grantVariables([
      { grantId: crypto.randomUUID(), systemId: 'prod-db', expiresAt: '2026-11-24T11:00:00.000Z', env: { PROMPT_COMMAND: 'id', LD_PRELOAD: '/tmp/x.so', STINT_RUNTIME_DIR: '/tmp/evil', BASH_ENV: '/tmp/x', PSQLRC: '/tmp/x', GIT_PROXY_COMMAND: 'id', PROMPT_EOL_MARK: '$(id)', KUBECONFIG: '/tmp/k', PGHOST: 'db', NUL: 'a\0b' } },
    ]);
    expect([...vars.keys()].filter((n) => !n.startsWith('STINT_') || n === 'STINT_RUNTIME_DIR')).toEqual(['PGHOST']);
  });

  it('unsets only names Stint could have exported', () => {
    expect(renderEnv('bash', new Map(), ['PATH', 'HOME', 'OLD_TOKEN', 'STINT_EXPIRES_AT'])).toBe("unset OLD_TOKEN\nunset STINT_EXPIRES_AT\n__STINT_VARS=''\n");
  });
});

describe('stint_prompt, the prompt segment without a process', () => {
  // Deadlines from the moment each shell starts, so a slow run does not shift the expected text.
  const vars = (now = Math.floor(Date.now() / 1000)) => `STINT_SYSTEMS='prod-db dev-ssh old staging.db'; STINT_PROD_DB_EXPIRES_AT=${now + 12 * 60 + 30}; STINT_DEV_SSH_EXPIRES_AT=${now + 42}; STINT_OLD_EXPIRES_AT=${now - 5}; STINT_STAGING_DB_EXPIRES_AT=${now + 26 * 3600 + 5 * 60 + 30}`;
  // What `stint prompt` prints for the same deadlines (give or take the second between them).
  const expected = /^prod-db 12m dev-ssh 4[0-2]s staging\.db 1d2h5m$/;
  const run = (shell: Shell, script: string) => {
    const args = shell === 'fish' ? ['--no-config', '-c', script] : shell === 'zsh' ? ['-f', '-c', script] : ['--norc', '--noprofile', '-c', script];
    // An empty PATH: anything but a builtin would fail to start.
    return spawnSync(`/usr/bin/${shell}`, args, { encoding: 'utf8', env: { PATH: '' } });
  };

  it('prints the same segment as `stint prompt` in bash and zsh, with an empty PATH', () => {
    for (const shell of ['bash', 'zsh'] as const) {
      const out = run(shell, `${promptFunction(shell)}\n${vars()}\nstint_prompt`);
      expect(out.stderr, shell).toBe('');
      expect(out.stdout.trim(), shell).toMatch(expected);
      // --set fills STINT_PROMPT for PROMPT_COMMAND or precmd, printing nothing.
      const set = run(shell, `${promptFunction(shell)}\n${vars()}\nstint_prompt --set; printf '<%s>' "$STINT_PROMPT"`);
      expect(set.stdout, shell).toMatch(/^<prod-db 12m .*>$/);
    }
  });

  it('uses printf %(%s)T where bash has no EPOCHSECONDS (bash 4), and prints nothing without grants', () => {
    expect(run('bash', `unset EPOCHSECONDS\n${promptFunction('bash')}\n${vars()}\nstint_prompt`).stdout.trim()).toMatch(expected);
    expect(run('bash', `${promptFunction('bash')}\nstint_prompt`).stdout).toBe('');
    expect(run('zsh', `${promptFunction('zsh')}\nSTINT_SYSTEMS=x; STINT_X_EXPIRES_AT='$(touch /tmp/pwned)'\nstint_prompt`).stdout).toBe('');
  });

  it('prints it in fish from the boot time `stint env` leaves and /proc/uptime, with an empty PATH', () => {
    const boot = bootEpochSeconds()!;
    const fishVars = vars().replace(/;/g, '\n').replace(/^\s*(\w+)=/gm, 'set $1 ');
    const out = run('fish', `${renderEnv('fish', new Map(), [], boot)}\n${promptFunction('fish')}\n${fishVars}\nstint_prompt`);
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toMatch(expected);
  });
});
