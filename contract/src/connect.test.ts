import { describe, expect, it } from 'vitest';
import { connectLines } from './connect';

describe('connectLines', () => {
  it('gives psql with the URL variable for PostgreSQL, and stint exec for shells without the hook', () => {
    expect(connectLines('prod-db', 'postgres', ['PGHOST', 'PGPASSWORD', 'DATABASE_URL'])).toEqual([
      { where: 'hooked shell', command: 'psql "$DATABASE_URL"' },
      { where: 'any shell', command: 'stint exec prod-db -- psql' },
    ]);
  });

  it('gives ssh to the granted user and host for SSH (the key is in the agent)', () => {
    const [hooked, anywhere] = connectLines('bastion', 'ssh', ['STINT_SSH_HOST', 'STINT_SSH_PORT', 'STINT_SSH_USER']);
    expect(hooked).toEqual({ where: 'hooked shell', command: 'ssh -p "$STINT_SSH_PORT" "$STINT_SSH_USER@$STINT_SSH_HOST"' });
    expect(anywhere?.command).toBe(`stint exec bastion -- sh -c 'ssh -p "$STINT_SSH_PORT" "$STINT_SSH_USER@$STINT_SSH_HOST"'`);
  });

  it('falls back to stint exec for a provider it does not know, or one whose variables are missing', () => {
    expect(connectLines('demo-sandbox', 'demo', ['DEMO_TOKEN'])).toEqual([{ where: 'any shell', command: 'stint exec demo-sandbox -- <command>' }]);
    expect(connectLines('prod-db', 'postgres', [])).toEqual([{ where: 'any shell', command: 'stint exec prod-db -- <command>' }]);
  });

  it('never puts a value in a line, only variable names', () => {
    for (const line of connectLines('prod-db', 'postgres', ['DATABASE_URL'])) expect(line.command).not.toMatch(/postgres:\/\//);
  });
});
