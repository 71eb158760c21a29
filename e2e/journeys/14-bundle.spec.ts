// Journey 14: a bundle. Alice asks for `incident` (the production database and the SSH host)
// in one request; bob sees on his card everything one approval gives and approves once; alice
// gets both credentials under one countdown: psql as her own role, ssh with the certificate in
// her agent. Her release ends both: the role is gone and the certificate is in the host's KRL.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runSsh } from '../../test-support/sshd';
import { agentKeys, copyFromKeychain, sshWithAgent } from '../ssh';
import { expect, grantFor, notified, openUi, snap, stintJson, test, until } from '../stack';

test('alice: one request for the incident bundle, one approval, psql and ssh both, both gone at release', async ({ stack, browser }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');
  await stack.refreshKrl();
  const copies = mkdtempSync(join(stack.dir, 'bundle-'));
  try {
    // The catalog says what the bundle holds; the CLI asks for it by name.
    const catalog = alice.stint(['ls']);
    expect(catalog.stdout).toMatch(/^incident .*bundle of prod-db \+ dev-ssh/m);
    const asked = alice.stint(['request', '--bundle', 'incident', '--for', '30m', '--reason', 'INC-9 checkout is down', '--json']);
    expect(asked.status, asked.stderr).toBe(0);
    expect(asked.stderr).toContain('Incident response is a bundle: one request for Production database and Dev SSH host.');
    const request = JSON.parse(asked.stdout) as { id: string; state: string };
    expect(request.state).toBe('pending');

    // Bob's card names both systems; one approval.
    await notified(stack.people.bob, new RegExp(`notice review-requested: incident request ${request.id} by alice`));
    const bobPage = await openUi(browser, stack.people.bob);
    await bobPage.getByRole('button', { name: /^Approvals/ }).click();
    const review = bobPage.getByRole('listitem').filter({ hasText: 'INC-9 checkout is down' });
    await expect(review).toContainText('Bundle: approving gives access to Production database and Dev SSH host');
    await snap(bobPage, '14-bundle-review');
    await review.getByRole('button', { name: /^Approve/ }).click();
    await expect(bobPage.getByText('Nothing waits for your review.')).toBeVisible();

    // One grant, one countdown; both credentials work.
    const grant = await grantFor(alice, request.id);
    expect(grant.envNames).toEqual(expect.arrayContaining(['DATABASE_URL', 'PGUSER', 'STINT_SSH_HOST', 'STINT_SSH_USER']));
    await until('the bundle key in the ssh-agent', () => stintJson<{ grantId: string; inAgent: boolean }[]>(alice, ['grants']).find((g) => g.grantId === grant.grantId)?.inAgent);
    const who = alice.stint(['exec', 'incident', '--', 'psql', '-XtAc', 'select current_user']);
    expect(who.stderr).toBe('');
    expect(who.stdout.trim()).toMatch(/^stint_alice_/);
    const ssh = sshWithAgent(stack, alice);
    expect(ssh.stderr, stack.sshd.log().slice(-2000)).toBe('');
    expect(ssh.stdout.trim()).toBe(`in as ${stack.sshd.userName}`);
    const stolen = copyFromKeychain(alice, grant.grantId, copies);

    // Her card says what the grant holds and how to use each part.
    const page = await openUi(browser, alice);
    await expect(page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'Incident response' }) })).toContainText(
      'Bundle: one request, one review and one countdown for Production database and Dev SSH host, each with its own credential.',
    );
    await page.getByRole('button', { name: /^My access/ }).click();
    const card = page.getByRole('listitem', { name: 'Incident response grant' });
    await expect(card).toContainText('Production database and Dev SSH host');
    const lines = await card.getByRole('textbox').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));
    expect(lines).toEqual([
      'psql "$DATABASE_URL"',
      'stint exec incident -- psql',
      'ssh -p "$STINT_SSH_PORT" "$STINT_SSH_USER@$STINT_SSH_HOST"',
      `stint exec incident -- sh -c 'ssh -p "$STINT_SSH_PORT" "$STINT_SSH_USER@$STINT_SSH_HOST"'`,
    ]);
    await snap(page, '14-bundle-grant');

    // One release ends both: the role cannot log in, the key leaves the agent, the host refuses the certificate.
    expect(alice.stint(['release', 'incident']).status).toBe(0);
    expect(agentKeys(alice)).not.toMatch(/ED25519-CERT/);
    const after = alice.stint(['exec', 'incident', '--', 'psql', '-XtAc', 'select 1']);
    expect(after.status).not.toBe(0);
    await new Promise((r) => setTimeout(r, 1100)); // the KRL route caches its build for a second
    await stack.refreshKrl();
    expect((await runSsh({ port: stack.sshd.port, user: stack.sshd.userName, ...stolen })).code).toBe(255);
    expect(stack.sshd.log()).toMatch(/revoked/i);
  } finally {
    rmSync(copies, { recursive: true, force: true });
  }
});
