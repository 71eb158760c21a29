// Journey 1: Alice gets the production database for a short window, Bob approves from his
// inbox, and at the deadline every copy of the access is gone: keychain, shell, the role itself,
// and the psql session she still had open.
import { spawnSync } from 'node:child_process';
import { idpLoginOpener } from '../../test-support/browser';
import { openShell, type Terminal } from '../../test-support/tmux';
import { expect, grantFor, keychainLookup, notified, openUi, sleepUntil, snap, stintJson, test, until } from '../stack';

test('alice: prod-db on real PostgreSQL, approved by bob, gone at the deadline', async ({ stack, browser }) => {
  const { alice, bob } = stack.people;
  const shells: Terminal[] = [];
  try {
    // An interactive bash with the hook, opened before there is any grant.
    const shell = await openShell('bash', alice.env);
    shells.push(shell);
    shell.type('eval "$(stint hook bash)"');
    expect(await shell.read('${PGUSER:-none}')).toBe('none');

    // Alice signs in through the identity provider's login page.
    const page = await openUi(browser, alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const signInUrl = await alice.nextBrowserUrl();
    expect(new URL(signInUrl).searchParams.get('code_challenge_method')).toBe('S256');
    const idp = idpLoginOpener(browser, 'alice', undefined, (loginPage) => snap(loginPage, '01-idp-login'));
    await idp.open(signInUrl);
    await expect(idp.lastPage()!.getByRole('heading', { name: 'Signed in to Stint' })).toBeVisible();
    await snap(idp.lastPage()!, '01-idp-return-to-stint');
    await expect(page.getByRole('heading', { name: 'Catalog' })).toBeVisible({ timeout: 30_000 });
    await snap(page, '01-catalog');
    stack.remember(keychainLookup(alice, 'session:refresh-token')!.trim());

    // A short window on prod-db, with the reason and ticket its policy asks for.
    const request = stintJson<{ id: string; state: string }>(alice, ['request', 'prod-db', '--for', '75s', '--reason', 'fix the total of order 1', '--ticket', 'INC-7']);
    expect(request.state).toBe('pending');

    // Bob's app tells him at once, and he approves from his inbox.
    await notified(bob, new RegExp(`notice review-requested: prod-db request ${request.id} by alice`));
    const bobPage = await openUi(browser, bob);
    await bobPage.getByRole('button', { name: /^Approvals/ }).click();
    const review = bobPage.getByRole('listitem').filter({ hasText: 'fix the total of order 1' });
    await expect(review).toBeVisible();
    await review.getByLabel('Comment (optional)').fill('go ahead, INC-7');
    await snap(bobPage, '01-bob-inbox');
    // The card says how risky the system is and how long the request has waited.
    await expect(review.getByText('high risk')).toBeVisible();
    await expect(review.getByText(/^(just now|\d+ min ago)$/)).toBeVisible();
    // And how often Alice asked for it lately (the server counts; approvers judge a pattern).
    await expect(review.getByText(/^(First request for Production database in 30 days|\d+ earlier requests? for Production database in the last 30 days)\.$/)).toBeVisible();
    await review.getByRole('button', { name: 'Approve' }).click();
    await expect(bobPage.getByText('Nothing waits for your review.')).toBeVisible();
    // The card is gone at once, so the app says what the decision did.
    const confirmation = bobPage.getByText(/^Approved Alice Adams's request for Production database; it is now (approved|active)\.$/);
    await expect(confirmation).toBeVisible();
    await bobPage.keyboard.press('Escape'); // toasts close with Escape
    await expect(confirmation).toHaveCount(0);

    // The decision reached alice's app by SSE; the credential is in her keychain.
    const grant = await grantFor(alice, request.id);
    const stored = keychainLookup(alice, `grant:${grant.grantId}`);
    expect(stored).toContain('PGPASSWORD');
    const env = stintJson<Record<string, string>>(alice, ['env', 'prod-db']);
    for (const name of ['PGPASSWORD', 'DATABASE_URL']) stack.remember(env[name]!);
    expect(stored).toContain(env.PGPASSWORD);
    expect(env.PGUSER).toMatch(/^stint_alice_[a-z2-7]{15}$/);

    // `stint exec` hands the credential to psql alone.
    const exec = alice.stint(['exec', 'prod-db', '--', 'psql', '-XtAc', 'select current_user']);
    expect(exec.stderr).toBe('');
    expect(exec.stdout.trim()).toBe(env.PGUSER);
    const read = alice.stint(['exec', 'prod-db', '--', 'psql', '-XtAc', 'select total from orders where id = 1']);
    expect(read.stdout.trim()).toBe('42.00');

    // The shell that was open before the grant has it at its next prompt.
    shell.type('');
    expect(await shell.read('${PGUSER:-none}')).toBe(env.PGUSER);

    // A psql session left open during the grant (in its own terminal).
    const psql = await openShell('bash', alice.env);
    shells.push(psql);
    psql.type('stint exec prod-db -- psql -X');
    await until('psql prompt', () => /=>\s*$/m.test(psql.screen()));
    psql.type("select 'session ' || 'alive';");
    await until('psql answers', () => psql.screen().includes('session alive')).catch((error: Error) => {
      throw new Error(`${error.message}:\n${psql.screen()}`);
    });

    // The UI counts down.
    await page.getByRole('button', { name: /^My access/ }).click();
    const card = page.getByRole('listitem', { name: 'Production database grant' });
    await expect(card.getByRole('timer')).toHaveText(/^[01]:\d\d left$/);
    await snap(page, '01-countdown');

    // The deadline passes.
    await sleepUntil(Date.parse(grant.expiresAt) + 1500);
    await until('the keychain item to be gone', () => keychainLookup(alice, `grant:${grant.grantId}`) === null, 3000);
    shell.type('');
    expect(await shell.read('${PGUSER:-none}')).toBe('none');
    expect(await shell.read('${PGPASSWORD:-none}')).toBe('none');
    await expect(card).toHaveCount(0);
    await snap(page, '01-after-deadline');

    // The role cannot log in any more, even with the password a shell may have kept.
    const login = spawnSync('psql', ['-XtAc', 'select 1'], {
      env: { ...process.env, PGHOST: env.PGHOST, PGPORT: env.PGPORT, PGDATABASE: env.PGDATABASE, PGUSER: env.PGUSER, PGPASSWORD: env.PGPASSWORD },
      encoding: 'utf8',
    });
    expect(login.status).not.toBe(0);
    expect(login.stderr).toMatch(/password authentication failed|role .* does not exist/);

    // And the session that was open has been ended by the server.
    psql.type('select 1;');
    await until('the open psql session to have been killed', () => /terminating connection|server closed the connection|connection to server .* lost|FATAL/i.test(psql.screen()), 10_000);
  } finally {
    for (const terminal of shells) terminal.close();
  }
});
