import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { grantVariables, quote, renderEnv, SHELLS, type Shell } from './shell';

const run = (shell: Shell, script: string) => spawnSync(shell, shell === 'fish' ? ['--no-config', '-c', script] : ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });
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
