import { describe, expect, it } from 'vitest';
import { resolveAppFile } from './app-protocol';
import { CONTENT_SECURITY_POLICY } from './security';

const root = '/opt/stint/renderer';

describe('resolveAppFile', () => {
  it('serves renderer files with the CSP and nosniff headers', () => {
    const file = resolveAppFile(root, 'app://stint/index.html');
    expect(file).toEqual({
      ok: true,
      path: '/opt/stint/renderer/index.html',
      headers: expect.objectContaining({ 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' }),
    });
    expect(resolveAppFile(root, 'app://stint/')).toMatchObject({ ok: true, path: '/opt/stint/renderer/index.html' });
    expect(resolveAppFile(root, 'app://stint/assets/index-abc.js?v=1#x')).toMatchObject({ ok: true, path: '/opt/stint/renderer/assets/index-abc.js' });
  });

  it.each([
    'app://stint/..%2F..%2F..%2Fetc%2Fpasswd.html',
    'app://stint/.env.json',
    'app://stint/assets/.hidden/x.js',
  ])('refuses to leave the renderer folder or serve dotfiles: %s', (url) => {
    expect(resolveAppFile(root, url)).toMatchObject({ ok: false, status: 403 });
  });

  it('keeps dot-segments the URL parser resolves inside the folder', () => {
    expect(resolveAppFile(root, 'app://stint/%2e%2e/%2e%2e/secret.json')).toMatchObject({ ok: true, path: '/opt/stint/renderer/secret.json' });
  });

  it('refuses other hosts, schemes and odd encodings', () => {
    expect(resolveAppFile(root, 'app://other/index.html')).toEqual({ ok: false, status: 403 });
    expect(resolveAppFile(root, 'file:///opt/stint/renderer/index.html')).toEqual({ ok: false, status: 403 });
    expect(resolveAppFile(root, 'app://stint/a%00.js')).toEqual({ ok: false, status: 400 });
    expect(resolveAppFile(root, 'app://stint/%E0%A4%A')).toEqual({ ok: false, status: 400 });
    expect(resolveAppFile(root, 'app://stint/a%5C..%5Cb.js')).toEqual({ ok: false, status: 400 });
  });

  it('serves only known file types', () => {
    expect(resolveAppFile(root, 'app://stint/notes.txt')).toEqual({ ok: false, status: 404 });
    expect(resolveAppFile(root, 'app://stint/assets')).toEqual({ ok: false, status: 404 });
  });
});
