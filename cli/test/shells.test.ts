import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../test-support/agent';
import { startDevServer, type DevServer } from '../../test-support/dev-server';
import { openShell, type Terminal } from '../../test-support/tmux';

/**
 * The CLI and the shell hooks against a real agent, a real dev server and real interactive
 * bash, zsh and fish in tmux, all opened before the grant exists.
 */
describe('stint CLI and shell hooks', () => {
  let dev: DevServer;
  let agent: Agent;
  const shells: Partial<Record<'bash' | 'zsh' | 'fish', Terminal>> = {};

  beforeAll(async () => {
    dev = await startDevServer();
    agent = await startAgent({ serverUrl: dev.serverUrl, user: 'alice' });
  }, 90_000);
  afterAll(async () => {
    for (const shell of Object.values(shells)) shell?.close();
    await agent?.stop();
    await dev?.stop();
  });

  it('says exactly what to do when no agent is running', () => {
    const result = spawnSync('stint', ['status'], { env: { ...agent.env, STINT_RUNTIME_DIR: '/tmp/stint-nobody-here' }, encoding: 'utf8' });
    expect(result.status).toBe(5);
    expect(result.stderr).toMatch(/Stint is not running .* run `stint agent &`/);
  });

  it('says to sign in (exit 6) before anyone has', () => {
    const result = agent.stint(['request', 'demo-sandbox', '--for', '5m']);
    expect(result.status).toBe(6);
    expect(result.stderr).toMatch(/not signed in/i);
  });

  it('signs in through the browser and shows the catalog with its policy', () => {
    const login = agent.stint(['login']);
    expect(login.stdout).toMatch(/^Signed in as Alice/);
    expect(login.status).toBe(0);
    const ls = agent.stint(['ls']);
    expect(ls.stdout).toMatch(/staging-db\s+medium\s+15m,1h,4h\s+8h\s+needs 1 approval from sre-leads/);
    const json = JSON.parse(agent.stint(['ls', '--json']).stdout);
    expect(json.map((s: { id: string }) => s.id)).toContain('prod-db');
    expect(agent.stint(['request', 'staging-db', '--for', 'forever']).status).toBe(2);
    const tooLong = agent.stint(['request', 'prod-db', '--for', '3h', '--reason', 'x', '--ticket', 'OPS-1']);
    expect(tooLong.status).toBe(4);
    expect(tooLong.stderr).toMatch(/maximum for prod-db, which is 2h/);
  });

  it('puts a new grant into already-open shells at their next prompt, and takes it out after the deadline', async () => {
    for (const name of ['bash', 'zsh', 'fish'] as const) {
      const terminal = await openShell(name, agent.env);
      shells[name] = terminal;
      terminal.type(name === 'fish' ? 'stint hook fish | source' : `eval "$(stint hook ${name})"`);
      expect(await terminal.read('${STAGING_DB_TOKEN:-none}'.replace('${STAGING_DB_TOKEN:-none}', name === 'fish' ? '$STAGING_DB_TOKEN' : '${STAGING_DB_TOKEN:-none}'))).toMatch(/^(none|)$/);
    }

    // Tracing and verbose on: a shell with `set -xv` must still never print the secret the hook sets.
    shells.bash!.type('set -xv');
    const requested = agent.stint(['request', 'staging-db', '--for', '12s', '--reason', 'hook test', '--json']);
    expect(requested.status).toBe(0);
    const request = JSON.parse(requested.stdout);
    expect(request.state).toBe('pending');
    const approved = await dev.api('bob', 'POST', `/v1/requests/${request.id}/reviews`, { decision: 'approve' });
    expect(approved.body.request.state).toBe('active');

    // The credential reaches the agent by SSE; `stint env` shows it.
    let env: Record<string, string> = {};
    for (let i = 0; i < 50 && !env.STAGING_DB_TOKEN; i++) {
      env = JSON.parse(agent.stint(['env', '--shell', 'json']).stdout || '{}');
      if (!env.STAGING_DB_TOKEN) await new Promise((r) => setTimeout(r, 100));
    }
    expect(env.STAGING_DB_TOKEN).toMatch(/^stint_demo_/);
    expect(env.STINT_EXPIRES_AT).toMatch(/^\d+$/);

    shells.bash!.type('');
    await shells.bash!.read('traced');
    expect(shells.bash!.screen()).toMatch(/__stint_hook/); // tracing was on while the hook ran...
    expect(shells.bash!.screen()).not.toContain(env.STAGING_DB_TOKEN); // ...and printed no secret
    shells.bash!.type('set +xv');
    for (const [name, terminal] of Object.entries(shells)) {
      terminal!.type(''); // the next prompt runs the hook
      const value = await terminal!.read(name === 'fish' ? '$STAGING_DB_TOKEN' : '${STAGING_DB_TOKEN:-none}');
      expect(value, `${name}:\n${terminal!.screen()}`).toBe(env.STAGING_DB_TOKEN);
      expect(await terminal!.read('$STINT_STAGING_DB_EXPIRES_AT')).toBe(String(Math.floor(Date.parse(approved.body.grant.expiresAt) / 1000)));
    }
    expect(agent.stint(['prompt']).stdout).toMatch(/^staging-db \d+s\n$/);

    // The secret never reached a command line or a shell's history. For bash the `set -x` check
    // above is the strong one (xtrace prints every command the hook runs, with its arguments);
    // `ps` adds what every process's argv holds at this instant.
    expect(spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout).not.toContain(env.STAGING_DB_TOKEN);
    const history = await shells.bash!.read('$(history | grep -cF -- "$STAGING_DB_TOKEN")');
    expect(history, shells.bash!.screen()).toBe('0');

    const deadline = Number(env.STINT_EXPIRES_AT) * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()) + 1500));
    for (const [name, terminal] of Object.entries(shells)) {
      terminal!.type('');
      const value = await terminal!.read(name === 'fish' ? '$STAGING_DB_TOKEN' : '${STAGING_DB_TOKEN:-none}');
      expect(value, name).toMatch(/^(none|)$/);
      expect(await terminal!.read(name === 'fish' ? '$STINT_EXPIRES_AT' : '${STINT_EXPIRES_AT:-none}'), name).toMatch(/^(none|)$/);
    }
    expect(agent.stint(['prompt']).stdout).toBe('');
  }, 90_000);

  it('stint exec gives the variables to the child only, passes its exit code, refuses without a grant', async () => {
    const missing = agent.stint(['exec', 'demo-sandbox', '--', 'true']);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toMatch(/no active grant for demo-sandbox. Request one: stint request demo-sandbox/);

    expect(agent.stint(['request', 'demo-sandbox', '--for', '5m', '--wait']).status).toBe(0);
    let out = agent.stint(['exec', 'demo-sandbox', '--', 'sh', '-c', 'echo "token=$SANDBOX_TOKEN stale=${STALE:-gone}"; exit 7'], {});
    for (let i = 0; i < 20 && out.status === 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      out = agent.stint(['exec', 'demo-sandbox', '--', 'sh', '-c', 'echo "token=$SANDBOX_TOKEN"; exit 7']);
    }
    expect(out.stdout, JSON.stringify(out)).toMatch(/^token=stint_demo_\S+/);
    expect(out.status).toBe(7);
    const stale = spawnSync('stint', ['exec', 'demo-sandbox', '--', 'sh', '-c', 'echo "$SANDBOX_TOKEN $STINT_OLD_EXPIRES_AT"'], {
      env: { ...agent.env, SANDBOX_TOKEN: 'stale-value', STINT_OLD_EXPIRES_AT: '1' },
      encoding: 'utf8',
    });
    expect(stale.stdout).toMatch(/^stint_demo_\S+ \n$/);
    expect(agent.stint(['release', 'demo-sandbox']).stdout).toMatch(/Released demo-sandbox/);
    expect(agent.stint(['exec', 'demo-sandbox', '--', 'true']).status).toBe(3);
  });

  it('gives up waiting after --timeout (exit 7) and leaves the request open', () => {
    const waited = agent.stint(['request', 'staging-db', '--for', '15m', '--reason', 'wait for me', '--wait', '--timeout', '2s']);
    expect(waited.status).toBe(7);
    expect(waited.stderr).toMatch(/Still pending after 2s; it stays open: stint requests/);
    const open = JSON.parse(agent.stint(['requests', '--json']).stdout) as { mine: { reason: string; state: string }[] };
    expect(open.mine.find((r) => r.reason === 'wait for me')?.state).toBe('pending');
  });

  it('prints help with the exit codes from the installed command', () => {
    const help = agent.stint(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:\n\s+0 ok/);
  });

});
