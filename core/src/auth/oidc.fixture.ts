// Test-only: what the OidcClient tests share: browsers without pages, JWT and port readers, expectSignInError.
import { expect } from 'vitest';
import { SignInError, type BrowserOpener, type SignInErrorCode } from './oidc';

export function decodeJwt(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export function redirectPort(authorizationUrl: string): number {
  const redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error(`no redirect_uri in ${authorizationUrl}`);
  return Number(new URL(redirectUri).port);
}

export async function expectSignInError(work: Promise<unknown>, code: SignInErrorCode): Promise<SignInError> {
  const error = await work.then(
    (value) => {
      throw new Error(`expected SignInError(${code}), got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SignInError);
  expect((error as SignInError).code, (error as Error).message).toBe(code);
  return error as SignInError;
}

/**
 * The system browser, for tests: remembers the address it was handed and walks a journey from
 * there (returning at once, as shell.openExternal does); the test awaits the journey.
 */
export function journeyOpener<T>(walk: (url: string) => Promise<T>) {
  let authorizationUrl: string | undefined;
  let journey: Promise<T> | undefined;
  const opener: BrowserOpener = {
    async open(url) {
      authorizationUrl = url;
      journey = walk(url);
      // Observed by the test; this only keeps a failure from counting as unhandled first.
      journey.catch(() => {});
    },
  };
  return {
    opener,
    url: () => authorizationUrl,
    journey: () => {
      if (!journey) throw new Error('the browser was never opened');
      return journey;
    },
  };
}

/**
 * A browser without pages, for the hostile IdP (whose authorization endpoint redirects at once):
 * follows the one redirect to the loopback listener and keeps what that page said.
 */
export function fetchOpener() {
  return journeyOpener(async (url) => {
    const authorize = await fetch(url, { redirect: 'manual' });
    const location = authorize.headers.get('location');
    if (authorize.status !== 302 || !location) throw new Error(`authorization endpoint answered ${authorize.status}`);
    const callback = await fetch(location);
    return { status: callback.status, html: await callback.text() };
  });
}

/** An "attacker" that skips the IdP and calls the loopback listener itself with its own query. */
export function directCallbackOpener(query: string) {
  let authorizationUrl: string | undefined;
  let page: Promise<{ status: number; html: string }> | undefined;
  const opener: BrowserOpener = {
    async open(url) {
      authorizationUrl = url;
      const redirectUri = new URL(url).searchParams.get('redirect_uri');
      page = fetch(`${redirectUri}?${query}`).then(async (r) => ({ status: r.status, html: await r.text() }));
      page.catch(() => {});
    },
  };
  return { opener, url: () => authorizationUrl, page: () => page! };
}
