// Journey 9: opening the web-mode UI is safe against another local user. `stint ui` hands the
// browser a file in alice's own runtime folder (so no code sits on a command line), the page
// trades the one-time code inside it for an HttpOnly session cookie, and the code is worthless
// afterwards: replayed from any Origin it is refused, and a socket without the cookie too.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { expect, test } from '../stack';

test('stint ui opens the UI through a one-time code that a replay cannot use', async ({ stack, browser }) => {
  const { alice } = stack.people;
  await stack.ensureSignedIn('alice');

  expect(alice.stint(['ui']).stdout).toMatch(/Opened Stint in your browser/);
  const handedOff = await alice.nextBrowserUrl();
  // The browser's command line holds a file address, never the code.
  expect(handedOff).toMatch(/^file:\/\/\/.*\/run\/open-[0-9a-f]{16}\.html$/);
  const launcher = fileURLToPath(handedOff);
  expect(statSync(launcher).mode & 0o777).toBe(0o600);
  const link = /url=(\S+?)"/.exec(readFileSync(launcher, 'utf8'))?.[1];
  expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#code=[A-Za-z0-9_-]{43}$/);
  const origin = new URL(link!).origin;
  const code = new URL(link!).hash.slice('#code='.length);

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(handedOff);
  await expect(page.getByRole('heading', { name: 'Catalog' })).toBeVisible();
  // The page now lives under its session's path; the code left the address bar.
  expect(page.url()).toMatch(new RegExp(`^${origin}/s/[A-Za-z0-9_-]{22}/`));
  expect(page.url()).not.toContain(code);
  const cookies = await context.cookies(page.url());
  expect(cookies).toEqual([expect.objectContaining({ name: 'stint-session', httpOnly: true, sameSite: 'Strict', path: new URL(page.url()).pathname })]);
  expect(await page.evaluate(() => document.cookie)).toBe(''); // HttpOnly: page scripts cannot read it

  // Another local user who read the code (from a log, a screenshot) replays it: refused from a
  // forged Origin and from the right one, and it gets no cookie.
  for (const from of ['https://evil.example', origin]) {
    const replay = await fetch(`${origin}/session`, { method: 'POST', headers: { origin: from, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    expect(replay.status).toBe(403);
    expect(replay.headers.get('set-cookie')).toBeNull();
  }
  // Nor can they open the bridge on the session's path without the cookie.
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`${origin.replace('http', 'ws')}${new URL(page.url()).pathname}bridge`, { origin });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => (ws.close(), resolve(101)));
  });
  expect(refused).toBe(403);

  // A reload keeps the session; the UI still answers.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Catalog' })).toBeVisible();
  await context.close();
});
