import { describe, expect, it } from 'vitest';
import { accessRequest } from '../../test-support/fixtures';
import { grantedHow, main, program } from './main';

const COMMANDS = ['login', 'logout', 'status', 'ls', 'request', 'requests', 'cancel', 'completion', 'approve', 'deny', 'grants', 'release', 'extend', 'env', 'exec', 'hook', 'prompt', 'agent', 'ui', 'start'];
const DATA = ['status', 'ls', 'request', 'requests', 'cancel', 'approve', 'deny', 'grants', 'extend', 'start'];

describe('stint commands', () => {
  it('has every command, each with help, and --json where the output is data', () => {
    const cli = program();
    expect(cli.commands.map((c) => c.name()).sort()).toEqual([...COMMANDS].sort());
    for (const command of cli.commands) {
      expect(command.description(), command.name()).not.toBe('');
      if (DATA.includes(command.name())) expect(command.options.map((o) => o.long), command.name()).toContain('--json');
    }
    expect(cli.helpInformation()).toMatch(/Usage: stint/);
  });

  it('answers bad usage with exit code 2', async () => {
    expect(await main(['request', 'prod-db', '--for', 'soon'])).toBe(2);
    expect(await main(['no-such-command'])).toBe(2);
    expect(await main(['hook', 'tcsh'])).toBe(2);
  });
});

describe('what `stint request` says of how it was decided', () => {
  it('names an approval for less, and an approval because you are on call; nothing for the ordinary way', () => {
    expect(grantedHow(accessRequest({ durationSeconds: 900, askedSeconds: 3600 }))).toBe(' (approved for less: you asked 1h)');
    expect(grantedHow(accessRequest({ autoApprovedBy: { kind: 'on-call', source: 'pagerduty', schedule: 'PSCHED1', shiftStart: null, shiftEnd: null } }))).toBe(
      ' (approved at once: you are on call (pagerduty schedule PSCHED1))',
    );
    expect(grantedHow(accessRequest({}))).toBe('');
  });

  it('the approve command takes --for, deny does not', () => {
    const cli = program();
    expect(cli.commands.find((c) => c.name() === 'approve')!.options.map((o) => o.long)).toContain('--for');
    expect(cli.commands.find((c) => c.name() === 'deny')!.options.map((o) => o.long)).not.toContain('--for');
  });
});
