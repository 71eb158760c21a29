import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createDevIdpForMinting, startDevIdp, type DevIdp, type DevIdpOptions } from './idp';
import { DEV_USERS } from './users';

const AUDIENCE = 'stint-api';
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stint-idp-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(options: Partial<DevIdpOptions> = {}): Promise<DevIdp> {
  const idp = await startDevIdp({ port: 0, dataDir: options.dataDir ?? (await tempDir()), audience: AUDIENCE, groupsClaim: 'groups', ...options });
  cleanups.push(() => idp.close());
  return idp;
}

interface Discovery {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
  code_challenge_methods_supported?: string[];
}

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  expect(response.status).toBe(200);
  return (await response.json()) as Discovery;
}

async function verifyAccessToken(issuer: string, token: string) {
  const { jwks_uri } = await discover(issuer);
  const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(jwks_uri)), { issuer, audience: AUDIENCE });
  return { payload, protectedHeader };
}

/** Just enough of a browser for oidc-provider's pages: cookies by path, manual redirects. */
class Browser {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  async fetch(url: URL, init: RequestInit = {}): Promise<Response> {
    const cookie = [...this.cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const headers = new Headers(init.headers);
    headers.set('accept', 'text/html');
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) this.store(line);
    return response;
  }

  private store(line: string) {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = value === '';
    for (const attribute of attributes) {
      const [key = '', val = ''] = attribute.split('=');
      if (key.toLowerCase() === 'path') path = val;
      if (key.toLowerCase() === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      if (key.toLowerCase() === 'max-age' && Number(val) <= 0) expired = true;
    }
    const key = `${name} ${path}`;
    if (expired) this.cookies.delete(key);
    else this.cookies.set(key, { name, value, path });
  }
}

interface HtmlForm {
  action: URL;
  fields: Record<string, string>;
  inputNames: string[];
}

/** Reads the one POST form of an oidc-provider interaction page. */
function readForm(html: string, base: URL): HtmlForm {
  const form = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].find((f) => /\bmethod="post"/i.test(f[1] ?? ''));
  const action = form && /\baction="([^"]*)"/.exec(form[1] ?? '')?.[1];
  if (!form || !action || form[2] === undefined) throw new Error(`no form on the page:\n${html}`);
  const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x2F;|&#47;/g, '/').replace(/&quot;/g, '"');
  const fields: Record<string, string> = {};
  const inputNames: string[] = [];
  for (const input of form[2].matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/.exec(input[0])?.[1];
    if (!name) continue;
    inputNames.push(name);
    const value = /\bvalue="([^"]*)"/.exec(input[0])?.[1];
    if (/\btype="hidden"/.test(input[0])) fields[name] = decode(value ?? '');
  }
  return { action: new URL(decode(action), base), fields, inputNames };
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizationUrl(idp: DevIdp, endpoint: string, redirectUri: string, challenge: string, extra: Record<string, string> = {}): URL {
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    client_id: idp.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile email offline_access',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'state-123',
    nonce: 'nonce-456',
    ...extra,
  }).toString();
  return url;
}

/**
 * Drives the devInteractions login and consent pages like a person at a browser would, until
 * the provider redirects to the app's loopback listener. Returns that redirect, or the page
 * where the journey stopped.
 */
async function signIn(
  browser: Browser,
  start: URL,
  redirectUri: string,
  login: { user: string; password: string },
): Promise<{ callback?: URL; stoppedAt?: Response; pagesSeen: string[] }> {
  const pagesSeen: string[] = [];
  let url = start;
  let response = await browser.fetch(url);
  for (let step = 0; step < 12; step++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, url);
      if (next.href.startsWith(redirectUri)) return { callback: next, pagesSeen };
      url = next;
      response = await browser.fetch(url);
      continue;
    }
    if (response.status !== 200) return { stoppedAt: response, pagesSeen };
    const form = readForm(await response.text(), url);
    const body = new URLSearchParams(form.fields);
    pagesSeen.push(form.fields.prompt ?? '?');
    if (form.fields.prompt === 'login') {
      expect(form.inputNames).toEqual(expect.arrayContaining(['login', 'password']));
      body.set('login', login.user);
      body.set('password', login.password);
    }
    url = form.action;
    response = await browser.fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
  throw new Error('the sign-in did not finish within 12 steps');
}

async function tokenRequest(endpoint: string, params: Record<string, string>) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('dev identity provider', () => {
  it('answers discovery with its issuer, an end-session endpoint and S256 PKCE', async () => {
    const idp = await start();
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const doc = await discover(idp.issuer);
    expect(doc.issuer).toBe(idp.issuer);
    expect(doc.end_session_endpoint).toBe(`${idp.issuer}/session/end`);
    expect(doc.code_challenge_methods_supported).toContain('S256');
    expect(idp.clientId).toBe('stint-desktop');
    expect(idp.audience).toBe(AUDIENCE);
    expect(idp.users.map((u) => u.id)).toEqual(['alice', 'bob', 'carol', 'dana']);
  });

  it('mints JWT access tokens for seeded users that verify against its JWKS', async () => {
    const idp = await start();
    const token = await idp.mintAccessToken('bob');
    const { payload, protectedHeader } = await verifyAccessToken(idp.issuer, token);
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      iss: idp.issuer,
      aud: AUDIENCE,
      sub: 'bob',
      groups: ['engineering', 'sre-leads'],
      name: 'Bob Baker',
      email: 'bob@stint.example',
      client_id: 'stint-desktop',
    });
    expect(payload.exp! - payload.iat!).toBe(900);

    const short = decodeJwt(await idp.mintAccessToken('carol', { ttlSeconds: 60 }));
    expect(short.exp! - short.iat!).toBe(60);

    await expect(idp.mintAccessToken('mallory')).rejects.toThrow(/not a dev user/);
  });

  it('uses the configured groups claim name', async () => {
    const idp = await start({ groupsClaim: 'stint_groups', audience: 'https://api.stint.example' });
    const token = await idp.mintAccessToken('dana');
    const { jwks_uri } = await discover(idp.issuer);
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(jwks_uri)), { issuer: idp.issuer, audience: 'https://api.stint.example' });
    expect(payload.stint_groups).toEqual(['stint-admins', 'auditors']);
    expect(payload.groups).toBeUndefined();
  });

  it('keeps its signing key in dataDir, so tokens survive a restart', async () => {
    const dataDir = await tempDir();
    const first = await startDevIdp({ port: 0, dataDir, audience: AUDIENCE, groupsClaim: 'groups' });
    const token = await first.mintAccessToken('alice');
    await first.close();

    if (process.platform !== 'win32') expect((await stat(join(dataDir, 'idp-jwks.json'))).mode & 0o777).toBe(0o600);

    const second = await start({ dataDir });
    const { jwks_uri } = await discover(second.issuer);
    // The port (so the issuer) changed with port 0; the key did not.
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(jwks_uri)), { audience: AUDIENCE });
    expect(payload.sub).toBe('alice');
  });

  it('mints tokens without listening, verifiable by the running IdP on the same dataDir', async () => {
    const dataDir = await tempDir();
    const idp = await start({ dataDir });
    const minter = await createDevIdpForMinting({ port: 0, dataDir, audience: AUDIENCE, groupsClaim: 'groups', issuer: idp.issuer });
    expect(minter.issuer).toBe(idp.issuer);
    const { payload } = await verifyAccessToken(idp.issuer, await minter.mintAccessToken('carol'));
    expect(payload).toMatchObject({ sub: 'carol', groups: ['security', 'sre-leads'], iss: idp.issuer });
  });

  it('signs in with code + PKCE on any loopback port, issues a JWT and a rotating refresh token', async () => {
    const idp = await start();
    const doc = await discover(idp.issuer);
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const redirectUri = `http://127.0.0.1:${port}/callback`;
    const { verifier, challenge } = pkce();

    const result = await signIn(new Browser(), authorizationUrl(idp, doc.authorization_endpoint, redirectUri, challenge), redirectUri, {
      user: 'alice',
      password: 'alice-dev-password',
    });
    expect(result.pagesSeen).toEqual(['login', 'consent']);
    expect(result.callback).toBeDefined();
    const callback = result.callback!;
    expect(callback.searchParams.get('state')).toBe('state-123');
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
    const code = callback.searchParams.get('code');
    expect(code).toBeTruthy();

    const tokens = await tokenRequest(doc.token_endpoint, {
      grant_type: 'authorization_code',
      client_id: idp.clientId,
      code: code!,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    expect(tokens.body.token_type).toBe('Bearer');
    expect(typeof tokens.body.refresh_token).toBe('string');
    const { payload } = await verifyAccessToken(idp.issuer, tokens.body.access_token as string);
    expect(payload).toMatchObject({ sub: 'alice', aud: AUDIENCE, groups: ['engineering'], name: 'Alice Adams', email: 'alice@stint.example' });

    const idToken = await jwtVerify(tokens.body.id_token as string, createRemoteJWKSet(new URL(doc.jwks_uri)), {
      issuer: idp.issuer,
      audience: idp.clientId,
    });
    expect(idToken.payload).toMatchObject({ sub: 'alice', nonce: 'nonce-456', groups: ['engineering'], name: 'Alice Adams', email: 'alice@stint.example' });

    const refreshed = await tokenRequest(doc.token_endpoint, {
      grant_type: 'refresh_token',
      client_id: idp.clientId,
      refresh_token: tokens.body.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toEqual(expect.any(String));
    expect(refreshed.body.refresh_token).not.toBe(tokens.body.refresh_token);
    expect((await verifyAccessToken(idp.issuer, refreshed.body.access_token as string)).payload.sub).toBe('alice');

    const replayed = await tokenRequest(doc.token_endpoint, {
      grant_type: 'refresh_token',
      client_id: idp.clientId,
      refresh_token: tokens.body.refresh_token as string,
    });
    expect(replayed.status).toBe(400);
    expect(replayed.body.error).toBe('invalid_grant');
  });

  it('still issues a refresh token when prompt=login makes oidc-provider drop offline_access', async () => {
    const idp = await start();
    const doc = await discover(idp.issuer);
    const redirectUri = 'http://127.0.0.1:43123/callback';
    const { verifier, challenge } = pkce();
    const { callback } = await signIn(
      new Browser(),
      authorizationUrl(idp, doc.authorization_endpoint, redirectUri, challenge, { prompt: 'login' }),
      redirectUri,
      { user: 'dana', password: 'dana-dev-password' },
    );
    const tokens = await tokenRequest(doc.token_endpoint, {
      grant_type: 'authorization_code',
      client_id: idp.clientId,
      code: callback?.searchParams.get('code') ?? '',
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    expect(tokens.body.scope).not.toContain('offline_access');
    const refreshed = await tokenRequest(doc.token_endpoint, {
      grant_type: 'refresh_token',
      client_id: idp.clientId,
      refresh_token: tokens.body.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token as string)).toMatchObject({ sub: 'dana', groups: ['stint-admins', 'auditors'] });
  });

  it('signs out through the end-session endpoint back to a loopback port', async () => {
    const idp = await start();
    const doc = await discover(idp.issuer);
    const browser = new Browser();
    const redirectUri = 'http://127.0.0.1:43123/callback';
    const { callback } = await signIn(browser, authorizationUrl(idp, doc.authorization_endpoint, redirectUri, pkce().challenge), redirectUri, {
      user: 'bob',
      password: 'bob-dev-password',
    });
    expect(callback).toBeDefined();

    const postLogout = 'http://127.0.0.1:51234/logged-out';
    const endSession = new URL(doc.end_session_endpoint!);
    endSession.search = new URLSearchParams({ client_id: idp.clientId, post_logout_redirect_uri: postLogout, state: 'bye' }).toString();
    const confirm = await browser.fetch(endSession);
    expect(confirm.status).toBe(200);
    const form = readForm(await confirm.text(), endSession);
    const done = await browser.fetch(form.action, {
      method: 'POST',
      body: new URLSearchParams({ ...form.fields, logout: 'yes' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(done.status).toBe(303);
    const location = new URL(done.headers.get('location') ?? '', idp.issuer);
    expect(`${location.origin}${location.pathname}`).toBe(postLogout);
    expect(location.searchParams.get('state')).toBe('bye');
  });

  it('refuses a wrong password and an unknown user at the login page', async () => {
    const idp = await start();
    const doc = await discover(idp.issuer);
    const redirectUri = 'http://127.0.0.1:43123/callback';
    for (const login of [
      { user: 'alice', password: 'bob-dev-password' },
      { user: 'mallory', password: 'anything' },
    ]) {
      const result = await signIn(new Browser(), authorizationUrl(idp, doc.authorization_endpoint, redirectUri, pkce().challenge), redirectUri, login);
      expect(result.callback).toBeUndefined();
      expect(result.stoppedAt?.status).toBe(401);
      expect(await result.stoppedAt?.text()).toContain('Unknown user or wrong password');
    }
  });

  it('refuses an unregistered redirect_uri without redirecting to it', async () => {
    const idp = await start();
    const doc = await discover(idp.issuer);
    for (const redirectUri of ['http://evil.example/cb', 'http://127.0.0.1:43123/elsewhere', 'http://localhost:43123/callback']) {
      const response = await new Browser().fetch(authorizationUrl(idp, doc.authorization_endpoint, redirectUri, pkce().challenge));
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toContain('redirect_uri');
    }
  });

  it('requires PKCE', async () => {
    const idp = await start();
    const doc = await discover(idp.issuer);
    const redirectUri = 'http://127.0.0.1:43123/callback';
    const url = authorizationUrl(idp, doc.authorization_endpoint, redirectUri, 'unused');
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const response = await new Browser().fetch(url);
    const location = new URL(response.headers.get('location') ?? '', idp.issuer);
    expect(location.href.startsWith(redirectUri)).toBe(true);
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });

  it('lists every seeded user with a dev password', () => {
    expect(DEV_USERS.map((u) => [u.id, u.role, u.groups])).toEqual([
      ['alice', 'engineer', ['engineering']],
      ['bob', 'approver', ['engineering', 'sre-leads']],
      ['carol', 'approver', ['security', 'sre-leads']],
      ['dana', 'admin and auditor', ['stint-admins', 'auditors']],
    ]);
    for (const user of DEV_USERS) expect(user.password).toBe(`${user.id}-dev-password`);
  });
});
