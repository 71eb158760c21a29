import { describe, expect, it } from 'vitest';
import { openLoopbackRedirect } from './loopback';
import { portRefuses } from './port-probe.fixture';

describe('loopback redirect listener', () => {
  it('listens on 127.0.0.1 with an ephemeral port and answers only /callback', async () => {
    const loopback = await openLoopbackRedirect();
    expect(loopback.redirectUri).toBe(`http://127.0.0.1:${loopback.port}/callback`);
    expect(loopback.port).toBeGreaterThan(0);

    for (const path of ['/', '/callback/', '/callbackx', '/favicon.ico', '/other?code=x&state=y']) {
      const response = await fetch(`http://127.0.0.1:${loopback.port}${path}`);
      expect(response.status, path).toBe(404);
    }
    const post = await fetch(`${loopback.redirectUri}?code=x`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await portRefuses(loopback.port)).toBe(false);

    const browser = fetch(`${loopback.redirectUri}?code=abc&state=def`);
    const received = await loopback.received;
    expect(received.href).toBe(`${loopback.redirectUri}?code=abc&state=def`);
    // Listening stopped as soon as the callback arrived, before the tab was answered.
    expect(await portRefuses(loopback.port)).toBe(true);
    await loopback.finish({ ok: true });
    const page = await browser;
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(await page.text()).toContain('You are signed in to Stint. You can close this tab and return to Stint.');
  });

  it('builds the received URL from its own redirect URI, not the Host header', async () => {
    const loopback = await openLoopbackRedirect();
    const browser = fetch(`${loopback.redirectUri}?code=abc`, { headers: { host: 'evil.example' } });
    expect((await loopback.received).origin).toBe(`http://127.0.0.1:${loopback.port}`);
    await loopback.finish({ ok: true });
    await browser;
  });

  it('escapes the failure reason on the page', async () => {
    const loopback = await openLoopbackRedirect();
    const browser = fetch(`${loopback.redirectUri}?code=abc`);
    await loopback.received;
    await loopback.finish({ ok: false, reason: 'nope <script>alert(1)</script> "x" & \'y\'' });
    const page = await browser;
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('nope &#60;script&#62;alert(1)&#60;/script&#62; &#34;x&#34; &#38; &#39;y&#39;');
    expect(html).toContain('Return to Stint and sign in again.');
  });

  it('closes without a callback, and finish is idempotent', async () => {
    const loopback = await openLoopbackRedirect();
    await Promise.all([loopback.finish({ ok: false, reason: 'timeout' }), loopback.finish({ ok: true })]);
    expect(await portRefuses(loopback.port)).toBe(true);
  });
});
