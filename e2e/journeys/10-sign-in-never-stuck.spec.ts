// Journey 10: a sign-in is never a dead end. The person closes the IdP's tab (or it showed an
// error page): the CLI printed the address, the app shows it with a copy button and a Cancel,
// and after Cancel (or a fresh Sign in) everything works again, with no agent restart.
import { axeViolations, expect, openUi, snap, stintJson, test } from '../stack';

test('a sign-in left unfinished can be copied, cancelled and started again', async ({ stack, browser }) => {
  const { alice } = stack.people;
  if (stintJson<{ auth: { status: string } }>(alice, ['status']).auth.status === 'signed-in') {
    expect(alice.stint(['logout']).status).toBe(0);
    expect(await alice.nextBrowserUrl()).toMatch(/\/sign-out\//); // the IdP session's hand-off, not this journey's
  }

  // `stint login`, and the browser tab is never finished.
  const login = alice.stintAsync(['login'], { timeoutMs: 60_000 });
  const handedOff = await alice.nextBrowserUrl();
  const page = await openUi(browser, alice);
  await expect(page.getByText('Finish signing in in your browser…')).toBeVisible();
  // A load watched from its start (the session's own address): nothing it asks for is missing.
  // The page names its icon, so a desktop browser does not ask for /favicon.ico (a 404 on every
  // load before); headless Chromium asks for no icon at all, hence the look at the markup.
  const missing: string[] = [];
  page.on('response', (response) => {
    if (response.status() === 404) missing.push(response.url());
  });
  await page.reload();
  await expect(page.getByText('Finish signing in in your browser…')).toBeVisible();
  // The address the browser was sent to, shown to copy (a browser that did not open, another screen).
  await expect(page.getByRole('textbox', { name: 'If your browser did not open, open this address:' })).toHaveValue(handedOff);
  await page.getByRole('button', { name: 'Copy address' }).click();
  await expect(page.getByText(/^(Copied\.|Selected; press Ctrl-C to copy\.)$/)).toBeVisible();
  await snap(page, '10-sign-in-waiting');
  expect(await axeViolations(page), 'axe-core on the waiting sign-in').toEqual([]);

  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
  await expect(page.getByText('The sign-in was cancelled. Sign in again when you are ready.')).toBeVisible();
  expect(await axeViolations(page), 'axe-core on the sign-in screen').toEqual([]);
  const cancelled = await login;
  expect(cancelled.status).not.toBe(0);
  // The CLI printed the same address, and said how it ended.
  expect(cancelled.stderr).toContain(handedOff);
  expect(cancelled.stderr).toMatch(/cancelled/);

  // And the next sign-in simply works.
  await stack.signIn('alice');
  await expect(page.getByRole('heading', { name: 'Catalog' })).toBeVisible();
  expect(missing).toEqual([]);

  // The keyboard, once signed in: a preset opens the form with focus in it, Escape closes it
  // and puts focus back on that preset.
  const preset = page.getByRole('button', { name: 'Request Sandbox for 5m' });
  await preset.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Duration')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('heading', { name: 'Request Sandbox' })).toHaveCount(0);
  await expect(preset).toBeFocused();
  await expect(page.locator('link[rel="icon"]')).toHaveAttribute('href', /^data:image\/svg\+xml,/);
  await page.context().close();
});
