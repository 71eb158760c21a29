// A regression guard: every flag is asserted one by one, so loosening any of them (in code or
// in electron-builder.yml) fails here with the flag's name.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { APP_ENTRY_URL, APP_ID, CONTENT_SECURITY_POLICY, FUSES, isAllowedExternalUrl, isAllowedSender, isAllowedSignInUrl, windowOptions } from './security';

const builderYml = readFileSync(new URL('../electron-builder.yml', import.meta.url), 'utf8');

/** The flat `electronFuses:` block of electron-builder.yml, read without a YAML library. */
function builderFuses(): Record<string, boolean> {
  const lines = builderYml.split('\n');
  const start = lines.findIndex((l) => l === 'electronFuses:');
  expect(start, 'electron-builder.yml has an electronFuses block').toBeGreaterThanOrEqual(0);
  const out: Record<string, boolean> = {};
  for (const line of lines.slice(start + 1)) {
    const match = /^ {2}(\w+): (true|false)\s*$/.exec(line);
    if (!match) break;
    out[match[1]!] = match[2] === 'true';
  }
  return out;
}

describe('windowOptions', () => {
  const prefs = windowOptions('/app/dist/preload.cjs').webPreferences;
  it.each([
    ['sandbox', true],
    ['contextIsolation', true],
    ['nodeIntegration', false],
    ['nodeIntegrationInWorker', false],
    ['nodeIntegrationInSubFrames', false],
    ['webSecurity', true],
    ['allowRunningInsecureContent', false],
    ['webviewTag', false],
    ['experimentalFeatures', false],
    ['enableWebSQL', false],
    ['navigateOnDragDrop', false],
    ['safeDialogs', true],
    ['spellcheck', false],
  ] as const)('%s is %s', (flag, value) => {
    expect(prefs[flag]).toBe(value);
  });

  it('uses the given preload and no devtools unless asked', () => {
    expect(prefs.preload).toBe('/app/dist/preload.cjs');
    // The shipped app never opens DevTools, even when asked; a development build only when asked.
    expect(prefs.devTools).toBe(false);
    expect(windowOptions('/p', { packaged: true, env: { STINT_DEVTOOLS: '1' } }).webPreferences.devTools).toBe(false);
    expect(windowOptions('/p', { packaged: false, env: { STINT_DEVTOOLS: '1' } }).webPreferences.devTools).toBe(true);
    expect(windowOptions('/p', { packaged: false, env: {} }).webPreferences.devTools).toBe(false);
  });
});

describe('CONTENT_SECURITY_POLICY', () => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => {
    const [name, ...values] = d.trim().split(/\s+/);
    return [name!, values.join(' ')] as const;
  }));
  it.each([
    ['default-src', "'self'"],
    ['script-src', "'self'"],
    ['style-src', "'self'"],
    ['connect-src', "'self'"],
    ['object-src', "'none'"],
    ['base-uri', "'none'"],
    ['frame-ancestors', "'none'"],
    ['form-action', "'none'"],
  ])('%s is %s', (name, value) => {
    expect(directives.get(name)).toBe(value);
  });

  it('never allows inline or evaluated script, or remote hosts', () => {
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|wasm-unsafe|\*|https?:|ws:/);
  });
});

describe('FUSES', () => {
  it.each([
    ['runAsNode', false],
    ['enableNodeOptionsEnvironmentVariable', false],
    ['enableNodeCliInspectArguments', false],
    ['enableEmbeddedAsarIntegrityValidation', true],
    ['onlyLoadAppFromAsar', true],
    ['enableCookieEncryption', true],
    ['loadBrowserProcessSpecificV8Snapshot', false],
    ['grantFileProtocolExtraPrivileges', false],
  ] as const)('%s is %s in code and in electron-builder.yml', (fuse, value) => {
    expect(FUSES[fuse]).toBe(value);
    expect(builderFuses()[fuse]).toBe(value);
  });

  it('electron-builder.yml packages the app under the id main.ts gives Windows notifications', () => {
    expect(builderYml).toMatch(new RegExp(`^appId: ${APP_ID.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('electron-builder.yml sets exactly the fuses of FUSES', () => {
    expect(builderFuses()).toEqual(FUSES);
  });

  it('electron-builder.yml passes electron-builder’s own schema', async () => {
    const require = createRequire(import.meta.url);
    const { load } = require('js-yaml');
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config');
    const { DebugLogger } = require('builder-util');
    const config = load(builderYml);
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    // And the check itself bites: an unknown fuse is refused.
    await expect(validateConfiguration({ ...config, electronFuses: { ...config.electronFuses, runAsNod: false } }, new DebugLogger(false))).rejects.toThrow(/electronFuses/);
  });
});

describe('isAllowedSender', () => {
  it('accepts only the app origin’s main frame', () => {
    expect(isAllowedSender(APP_ENTRY_URL, true)).toBe(true);
    expect(isAllowedSender('app://stint/index.html#/reviews', true)).toBe(true);
    expect(isAllowedSender(APP_ENTRY_URL, false)).toBe(false);
    expect(isAllowedSender('app://evil/index.html', true)).toBe(false);
    expect(isAllowedSender('app://x@stint/index.html', true)).toBe(false);
    expect(isAllowedSender('https://stint/index.html', true)).toBe(false);
    expect(isAllowedSender('file:///app/renderer/index.html', true)).toBe(false);
    expect(isAllowedSender('about:blank', true)).toBe(false);
    expect(isAllowedSender('', true)).toBe(false);
  });
});

describe('isAllowedExternalUrl', () => {
  it('opens https and the IdP’s own origin only', () => {
    expect(isAllowedExternalUrl('https://docs.example.com/runbook', null)).toBe(true);
    expect(isAllowedExternalUrl('http://localhost:9000/auth?x=1', 'http://localhost:9000')).toBe(true);
    expect(isAllowedExternalUrl('http://localhost:9001/auth', 'http://localhost:9000')).toBe(false);
    expect(isAllowedExternalUrl('http://example.com/', null)).toBe(false);
  });

  it.each(['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'vscode://x', 'stint://request?system=a', 'data:text/html,hi', 'https://bank.example@evil.example/', 'nonsense'])(
    'refuses %s',
    (url) => {
      expect(isAllowedExternalUrl(url, 'http://localhost:9000')).toBe(false);
    },
  );

  it('does not let a non-web IdP origin widen the rule', () => {
    expect(isAllowedExternalUrl('file:///x', 'file:///x')).toBe(false);
  });
});

describe('isAllowedSignInUrl', () => {
  const issuer = 'https://login.example.com/tenant';
  it('opens https sign-in pages (on the issuer’s host or the provider’s other login host)', () => {
    expect(isAllowedSignInUrl('https://login.example.com/authorize?client_id=stint', issuer)).toBe(true);
    expect(isAllowedSignInUrl('https://stint.auth.eu-west-1.amazoncognito.com/oauth2/authorize', 'https://cognito-idp.eu-west-1.amazonaws.com/pool')).toBe(true);
    // A development IdP on this machine may be plain http, at its own origin only.
    expect(isAllowedSignInUrl('http://127.0.0.1:8788/auth?x=1', 'http://127.0.0.1:8788')).toBe(true);
  });
  it('refuses plain http (but to a loopback issuer’s own origin), other schemes, and credentials in the URL', () => {
    expect(isAllowedSignInUrl('http://login.example.com/authorize', issuer)).toBe(false);
    expect(isAllowedSignInUrl('https://user:pw@login.example.com/authorize', issuer)).toBe(false);
    expect(isAllowedSignInUrl('file:///etc/passwd', issuer)).toBe(false);
    expect(isAllowedSignInUrl('smb://fileserver/share', issuer)).toBe(false);
    expect(isAllowedSignInUrl('http://127.0.0.1:9999/auth', 'http://127.0.0.1:8788')).toBe(false);
    expect(isAllowedSignInUrl('http://idp.example/auth', 'http://idp.example')).toBe(false);
    expect(isAllowedSignInUrl('http://127.0.0.1:8788/auth', null)).toBe(false);
    expect(isAllowedSignInUrl('not a url', issuer)).toBe(false);
  });
  it('opens core’s own sign-out address over loopback http, that exact address only', () => {
    const own = 'http://127.0.0.1:41234/sign-out/T3T-l7EIFJizBwzu7thsqw';
    expect(isAllowedSignInUrl(own, issuer, own)).toBe(true);
    expect(isAllowedSignInUrl(own, issuer, null)).toBe(false);
    expect(isAllowedSignInUrl('http://127.0.0.1:41234/sign-out/another-key-of-22-chars', issuer, own)).toBe(false);
    expect(isAllowedSignInUrl(`${own}?next=file:///etc/passwd`, issuer, own)).toBe(false);
  });
});
