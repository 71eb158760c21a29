// Journey 16: a Redis user of her own (issue 23). Alice asks for session-cache, bob approves,
// and Redis itself has an ACL user for her grant: it reads `session:*` and nothing else, and
// cannot write. Her app's card gives the redis-cli line; she keeps a redis-cli session open. At
// her release Redis deletes the user and cuts that session: its next command gets nothing back.
import { openShell, type Terminal } from '../../test-support/tmux';
import { expect, grantFor, keychainLookup, openUi, snap, stintJson, test, until } from '../stack';

const REDIS_CLI = `redis-cli --user "$STINT_REDIS_USER" -h "$STINT_REDIS_HOST" -p "$STINT_REDIS_PORT"`;

test('alice: session-cache as a Redis user of her own, read-only, its open session cut at release', async ({ stack, browser }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  const shells: Terminal[] = [];
  try {
    const request = stintJson<{ id: string; state: string }>(alice, ['request', 'session-cache', '--for', '5m', '--reason', 'why is session 42 stale']);
    expect(request.state).toBe('pending');
    expect(stack.review('bob', request.id, 'approve').status).toBe(0);
    const grant = await grantFor(alice, request.id);
    const { env } = JSON.parse(keychainLookup(alice, `grant:${grant.grantId}`)!) as { env: Record<string, string> };
    stack.remember(env.REDISCLI_AUTH!);
    const user = env.STINT_REDIS_USER!;
    expect(user).toMatch(/^stint_alice_[a-z2-7]{15}$/);
    expect(stack.redis.cli(['ACL', 'GETUSER', user]).stdout).not.toBe('');

    // The connect line, through `stint exec` (the password reaches redis-cli as REDISCLI_AUTH, not argv).
    const run = (command: string) => alice.stint(['exec', 'session-cache', '--', 'sh', '-c', `${REDIS_CLI} ${command}`]);
    const read = run('GET session:42');
    expect(read.stdout.trim(), `${read.stderr} (as root: ${JSON.stringify(stack.redis.cli(['GET', 'session:42']))})`).toBe('alice@checkout');
    expect(run('SET session:42 tampered').stdout).toMatch(/NOPERM/);
    expect(run('GET billing:1').stdout).toMatch(/NOPERM/);
    expect(stack.redis.cli(['GET', 'session:42']).stdout.trim()).toBe('alice@checkout');

    // Her card gives the same line.
    const page = await openUi(browser, alice);
    await page.getByRole('button', { name: /^My access/ }).click();
    const card = page.getByRole('listitem', { name: 'Session cache grant' });
    const lines = await card.getByRole('textbox').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));
    expect(lines).toEqual([REDIS_CLI, `stint exec session-cache -- sh -c '${REDIS_CLI}'`]);
    await snap(page, '16-redis-grant');

    // A redis-cli session left open during the grant.
    const terminal = await openShell('bash', alice.env);
    shells.push(terminal);
    terminal.type(`stint exec session-cache -- sh -c '${REDIS_CLI}'`);
    await until('the redis-cli prompt', () => /127\.0\.0\.1:\d+> *$/m.test(terminal.screen()));
    terminal.type('GET session:42');
    await until('redis-cli answers', () => terminal.screen().includes('"alice@checkout"'));

    // Released: the user is gone from Redis and the open session gets nothing more.
    expect(alice.stint(['release', 'session-cache']).status).toBe(0);
    await until('the ACL user to be deleted', () => stack.redis.cli(['ACL', 'GETUSER', user]).stdout === '', 10_000);
    terminal.type('GET session:42');
    await until('the open session to be refused', () => /Server closed the connection|WRONGPASS|NOAUTH|not connected|Connection reset/i.test(terminal.screen()), 10_000).catch((error: Error) => {
      throw new Error(`${error.message}:\n${terminal.screen()}`);
    });
    expect(terminal.screen().match(/"alice@checkout"/g)).toHaveLength(1);
    expect(keychainLookup(alice, `grant:${grant.grantId}`)).toBeNull();
  } finally {
    for (const shell of shells) shell.close();
  }
});
