import { describe, expect, it } from 'vitest';
import { openSignOutPage } from './sign-out-page';

const END_SESSION = 'https://idp.example.com/logout?id_token_hint=eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl&client_id=stint-desktop';

describe('the one-time sign-out address', () => {
  it('redirects the browser to the end-session URL once, then is gone', async () => {
    const signOut = await openSignOutPage(END_SESSION);
    expect(signOut.url).not.toContain('eyJ');
    const wrongKey = await fetch(signOut.url.replace(/[^/]+$/, 'guess'), { redirect: 'manual' });
    expect(wrongKey.status).toBe(404);
    expect(await wrongKey.text()).not.toContain('eyJ');
    const posted = await fetch(signOut.url, { method: 'POST', redirect: 'manual' });
    expect(posted.status).toBe(404);

    const answer = await fetch(signOut.url, { redirect: 'manual' });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe(END_SESSION);
    expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(await signOut.served).toBe(true);
    await expect(fetch(signOut.url, { redirect: 'manual' })).rejects.toThrow();
  });

  it('closes unused after its lifetime', async () => {
    const signOut = await openSignOutPage(END_SESSION, 50);
    expect(await signOut.served).toBe(false);
    await expect(fetch(signOut.url, { redirect: 'manual' })).rejects.toThrow();
  });
});
