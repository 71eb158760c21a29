// A real, independent OpenID Connect provider for tests: Debian's glewlwyd 2.7.5 as a child
// process on 127.0.0.1, with its own SQLite database in a temp folder, configured entirely
// through its admin REST API from the templates in scripts/glewlwyd/. It behaves unlike our
// dev IdP in ways a relying party must survive (MACHINE.md, "A second, independent IdP"):
// groups are a comma-joined string in access tokens and an array only in the ID token and
// userinfo, redirect URIs match exactly, a refresh returns no ID token, revocation wants client
// authentication (so a public client cannot revoke its own refresh token), and `aud` is the
// scope string unless the client sends RFC 8707 `resource`.
// Needs the `glewlwyd` and `sqlite3` packages (scripts/install-deps.sh).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPair, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stopWithThisProcess } from './children';
import { freePort } from './postgres';

const execFileAsync = promisify(execFile);
const generateKeyPairAsync = promisify(generateKeyPair);

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATES = path.join(REPO, 'scripts', 'glewlwyd');
const HOST = '127.0.0.1';
const GLEWLWYD = '/usr/bin/glewlwyd';
const SQLITE3 = '/usr/bin/sqlite3';
// The schema plus the built-in admin (admin / password) that dbconfig would have loaded; the
// same file as /usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz minus its DROP lines.
const SCHEMA = '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3';
const BUILT_IN_ADMIN = { username: 'admin', password: 'password' };
const PLUGIN = 'oidc';
const USER_BACKEND = 'database';
const START_ATTEMPTS = 3;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const LOG_TAIL_LINES = 40;

export interface GlewlwydUser {
  username: string;
  password: string;
  name: string;
  email: string;
  groups: string[];
}

export interface GlewlwydClient {
  clientId: string;
  /** Matched exactly, port included (glewlwyd has no "any loopback port" rule). */
  redirectUris: string[];
  /** Confidential when set (client_secret_basic or client_secret_post); public otherwise. */
  secret?: string;
  /**
   * RFC 8707 resource indicators this client may ask for. glewlwyd refuses any other
   * `resource` with invalid_target; each must be https:// or http://localhost-style.
   */
  resources?: string[];
}

export interface GlewlwydTokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_in: number;
  token_type: string;
  [other: string]: unknown;
}

export interface SignInOptions {
  username: string;
  password: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  resource?: string;
  clientSecret?: string;
}

export interface Glewlwyd {
  /** The OIDC issuer, as the discovery document says (http://127.0.0.1:PORT/api/oidc). */
  issuer: string;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** Authorization code + PKCE flow done over HTTP only (no browser): logs the user in through glewlwyd's own login API and returns the tokens. */
  signIn(opts: SignInOptions): Promise<GlewlwydTokens>;
  /**
   * Plays the person's browser for an app's own authorization request: opens `authorizationUrl`,
   * logs in through glewlwyd's login API, grants the scopes, and follows the redirect to the
   * app's redirect URI (its loopback listener). Returns that page's status and text.
   */
  browse(authorizationUrl: string, user: { username: string; password: string }): Promise<{ status: number; text: string }>;
  /** glewlwyd's console log so far (also in glewlwyd.log in its folder until stop). */
  log(): string;
  /** Stops glewlwyd and deletes its folder. Idempotent. */
  stop(): Promise<void>;
}

export interface GlewlwydOptions {
  users: GlewlwydUser[];
  clients: GlewlwydClient[];
  accessTokenSeconds?: number;
  /** The claim that carries the user's groups; default 'groups'. Requested with scope `groups`. */
  groupsClaim?: string;
  /** glewlwyd's own log level; default WARNING (INFO logs every token it issues). */
  logLevel?: 'ERROR' | 'WARNING' | 'INFO' | 'DEBUG';
}

/** null when glewlwyd can run here, else a one-line reason to print when skipping. */
export function glewlwydAvailable(): string | null {
  for (const [file, pkg] of [[GLEWLWYD, 'glewlwyd'], [SCHEMA, 'glewlwyd'], [SQLITE3, 'sqlite3']] as const) {
    if (!existsSync(file)) return `${file} is missing (Debian package ${pkg}); run: bash scripts/install-deps.sh`;
  }
  return null;
}

export async function startGlewlwyd(opts: GlewlwydOptions): Promise<Glewlwyd> {
  const unavailable = glewlwydAvailable();
  if (unavailable) throw new Error(`glewlwyd cannot run: ${unavailable}`);

  // RSA key generation (0.1-0.2 s) overlaps the database set-up and start-up; a failure
  // surfaces where the key is awaited, not as an unhandled rejection.
  const signingKey = signingJwks();
  signingKey.catch(() => undefined);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'stint-glewlwyd-'));
  let server: SpawnedServer | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server?.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const databasePath = path.join(dir, 'glewlwyd.db');
    // One transaction: statement by statement, sqlite3 syncs each one (~0.6 s instead of ~0.06 s).
    await execFileAsync(SQLITE3, [databasePath, 'BEGIN', `.read ${SCHEMA}`, 'COMMIT']);
    server = await listen(dir, databasePath, opts.logLevel ?? 'WARNING');
    const { baseUrl, log } = server;
    const issuer = `${baseUrl}/api/${PLUGIN}`;
    await configure(baseUrl, issuer, opts, await signingKey);
    const discovery = await fetchJson<{ issuer: string }>(`${issuer}/.well-known/openid-configuration`);
    return { issuer: discovery.issuer, baseUrl, signIn: (signInOpts) => signIn(baseUrl, issuer, signInOpts), browse: (url, user) => browse(baseUrl, url, user), log, stop };
  } catch (error) {
    const log = server?.log() ?? '';
    await stop();
    if (!log) throw error;
    throw new Error(`${(error as Error).message}\n--- glewlwyd log (tail) ---\n${tail(log)}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// The process

interface SpawnedServer {
  baseUrl: string;
  log(): string;
  /** Stops the process (SIGTERM, then SIGKILL); the folder stays for the caller. */
  kill(): Promise<void>;
}

// glewlwyd stays our child, but a test worker killed outright (vitest ends forks with
// SIGKILL) cannot run an exit hook; this watchdog stops glewlwyd and removes its folder
// within a second of our process dying, as postgres.ts and sshd.ts do for their servers.
const WATCHDOG = `
owner=$1; server=$2; dir=$3
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
kill "$server" 2>/dev/null
rm -rf "$dir"
`;

/** Writes the config, starts glewlwyd on a free port and waits until it answers HTTP. */
async function listen(dir: string, databasePath: string, logLevel: string): Promise<SpawnedServer> {
  const template = await readFile(path.join(TEMPLATES, 'glewlwyd.conf.template'), 'utf8');
  for (let attempt = 1; ; attempt++) {
    // Another process may take the port between freePort() and glewlwyd's bind, hence retries.
    const port = await freePort();
    const baseUrl = `http://${HOST}:${port}`;
    const configPath = path.join(dir, 'glewlwyd.conf');
    await writeFile(configPath, fillTemplate(template, { PORT: String(port), EXTERNAL_URL: baseUrl, DATABASE_PATH: databasePath, LOG_LEVEL: logLevel }));
    const server = spawnServer(dir, configPath, baseUrl);
    try {
      await server.ready;
      return server;
    } catch (error) {
      await server.kill();
      const portTaken = /address already in use/i.test(server.log());
      if (!portTaken || attempt >= START_ATTEMPTS) {
        throw new Error(`glewlwyd did not come up on ${baseUrl}: ${(error as Error).message}\n--- glewlwyd log (tail) ---\n${tail(server.log())}`, { cause: error });
      }
    }
  }
}

function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/@([A-Z_]+)@/g, (_placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`scripts/glewlwyd template names @${name}@, which the harness does not fill`);
    return value;
  });
}

function spawnServer(dir: string, configPath: string, baseUrl: string): SpawnedServer & { ready: Promise<void> } {
  const logFile = path.join(dir, 'glewlwyd.log');
  let logText = '';
  const child: ChildProcess = stopWithThisProcess(
    spawn(GLEWLWYD, [`--config-file=${configPath}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const record = (chunk: Buffer): void => {
    logText += chunk.toString('utf8');
    appendFileSync(logFile, chunk);
  };
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  // 'close', not 'exit': output may still arrive between the two, and the folder goes after.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const watchdog = spawn('sh', ['-c', WATCHDOG, 'stint-glewlwyd-watchdog', String(process.pid), String(child.pid), dir], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  const kill = async (): Promise<void> => {
    watchdog.kill();
    child.kill('SIGTERM'); // a no-op once it has exited
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  return { baseUrl, log: () => logText, kill, ready: waitUntilServing(baseUrl, exited) };
}

/** Polls GET /config (public, answered once every module and plugin is loaded). */
async function waitUntilServing(baseUrl: string, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone) throw new Error('glewlwyd exited during start-up');
    try {
      const response = await fetch(`${baseUrl}/config`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no answer within ${START_TIMEOUT_MS} ms`);
}

function tail(log: string): string {
  return log.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Configuration through the admin API

async function configure(baseUrl: string, issuer: string, opts: GlewlwydOptions, signingKey: SigningKey): Promise<void> {
  const admin = new HttpSession(`${baseUrl}/api`);
  await admin.call('POST', '/auth/', BUILT_IN_ADMIN, 'admin login');
  await storeGroupsAsUserProperty(admin);
  await createScopes(admin);
  await createOidcPlugin(admin, issuer, opts, signingKey);
  for (const user of opts.users) await createUser(admin, user);
  for (const client of opts.clients) await createClient(admin, client);
}

/**
 * glewlwyd has no group objects; a user property listed in the database backend's
 * data-format becomes a user attribute, and `multiple: true` stores a list. The OIDC
 * plugin then copies it into tokens (see groupsClaims).
 */
async function storeGroupsAsUserProperty(admin: HttpSession): Promise<void> {
  const backend = await admin.call<{ parameters: Record<string, any> }>('GET', `/mod/user/${USER_BACKEND}`, undefined, 'read the user backend');
  const parameters = {
    ...backend.parameters,
    // Cheaper password hashing: a throwaway IdP needs no PBKDF2 work factor, tests need speed.
    'pbkdf2-iterations': 1000,
    'data-format': {
      ...backend.parameters['data-format'],
      groups: { multiple: true, read: true, write: true, 'profile-read': true, 'profile-write': false },
    },
  };
  await admin.call('PUT', `/mod/user/${USER_BACKEND}`, { ...backend, parameters }, 'update the user backend');
  // A changed module instance keeps running with its old parameters until it is reset.
  await admin.call('PUT', `/mod/user/${USER_BACKEND}/reset`, undefined, 'reset the user backend');
}

/**
 * Every scope a client asks for must exist and be in the user's scope list. `openid` ships
 * with the schema. password_required makes the password session count for these scopes.
 */
async function createScopes(admin: HttpSession): Promise<void> {
  for (const name of ['profile', 'email', 'groups']) {
    await admin.call('POST', '/scope/', { name, display_name: name, description: `OIDC ${name}`, password_required: true, password_max_age: 0, scheme: {} }, `create scope ${name}`);
  }
}

async function createOidcPlugin(admin: HttpSession, issuer: string, opts: GlewlwydOptions, { jwks, kid }: SigningKey): Promise<void> {
  const template = JSON.parse(await readFile(path.join(TEMPLATES, 'oidc-plugin.json'), 'utf8')) as Record<string, unknown>;
  const parameters = {
    ...template,
    iss: issuer,
    'jwks-private': JSON.stringify(jwks),
    'default-kid': kid,
    ...(opts.accessTokenSeconds === undefined ? {} : { 'access-token-duration': opts.accessTokenSeconds }),
    ...groupsClaims(opts.groupsClaim ?? 'groups'),
  };
  await admin.call('POST', '/mod/plugin/', { module: 'oidc', name: PLUGIN, display_name: 'OpenID Connect', order_rank: 0, parameters }, 'create the OIDC plugin');
}

interface SigningKey {
  jwks: { keys: object[] };
  kid: string;
}

/** A fresh RS256 key per server, so no key material lives in the repository. */
async function signingJwks(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const kid = `stint-test-${randomBytes(4).toString('hex')}`;
  return { jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] }, kid };
}

/**
 * The groups property as glewlwyd really delivers it: `additional-parameters` puts it in
 * every access token as one comma-joined string (the plugin cannot emit arrays there);
 * `claims` puts it in the ID token and userinfo as an array when scope `groups` is granted.
 */
function groupsClaims(claim: string): Record<string, unknown> {
  return {
    'additional-parameters': [{ 'user-parameter': 'groups', 'token-parameter': claim }],
    claims: [
      { name: claim, 'user-property': 'groups', type: 'string', mandatory: false, 'on-demand': true, scope: ['groups'] },
      // The login name, as company IdPs give it to relying parties (glewlwyd's sub is random).
      { name: 'preferred_username', 'user-property': 'username', type: 'string', mandatory: false, 'on-demand': true, scope: ['profile'] },
    ],
  };
}

async function createUser(admin: HttpSession, user: GlewlwydUser): Promise<void> {
  await admin.call(
    'POST',
    '/user/',
    {
      username: user.username,
      password: user.password,
      name: user.name,
      email: user.email,
      enabled: true,
      // The scopes this user may grant to clients; a scope outside this list is refused.
      scope: ['openid', 'profile', 'email', 'groups'],
      groups: user.groups,
    },
    `create user ${user.username}`,
  );
}

async function createClient(admin: HttpSession, client: GlewlwydClient): Promise<void> {
  const confidential = client.secret !== undefined;
  await admin.call(
    'POST',
    '/client/',
    {
      client_id: client.clientId,
      name: client.clientId,
      enabled: true,
      confidential,
      // A plain stored secret (not `password`, which is hashed): client_secret_basic/post check it.
      ...(confidential ? { client_secret: client.secret, token_endpoint_auth_method: ['client_secret_basic', 'client_secret_post'] } : {}),
      redirect_uri: client.redirectUris,
      authorization_type: ['code', 'refresh_token'],
      resource: client.resources ?? [],
      // Scopes for client_credentials only, which the plugin does not enable.
      scope: [],
    },
    `create client ${client.clientId}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Sign-in: the authorization code flow with PKCE, driven like the login page drives it

async function signIn(baseUrl: string, issuer: string, opts: SignInOptions): Promise<GlewlwydTokens> {
  // A new cookie jar is a new browser: no earlier session can satisfy this sign-in.
  const browser = new HttpSession(`${baseUrl}/api`);
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const authorizeUrl = new URL(`${issuer}/auth`);
  authorizeUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: opts.clientId,
    redirect_uri: opts.redirectUri,
    scope: opts.scope,
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(opts.resource === undefined ? {} : { resource: opts.resource }),
  }).toString();

  // Without a session glewlwyd sends the browser to its login page; any other answer (an
  // error page for an unknown client or redirect URI) ends the sign-in here.
  const first = await browser.redirectFrom(authorizeUrl);
  if (!first.pathname.endsWith('/login.html')) throw new Error(`authorization request was not sent to the login page: ${first}`);

  await browser.call('POST', '/auth/', { username: opts.username, password: opts.password }, `password login of ${opts.username}`);
  await grantScopes(browser, opts.clientId, opts.scope);

  // `g_continue` is what the login page adds when it sends the browser back.
  authorizeUrl.searchParams.set('g_continue', '');
  const callback = await browser.redirectFrom(authorizeUrl);
  const code = codeFromCallback(callback, opts.redirectUri, state);
  const tokens = await exchangeCode(issuer, opts, code, verifier);
  checkNonce(tokens, nonce);
  return tokens;
}

async function browse(baseUrl: string, authorizationUrl: string, user: { username: string; password: string }): Promise<{ status: number; text: string }> {
  const browser = new HttpSession(`${baseUrl}/api`);
  const authorizeUrl = new URL(authorizationUrl);
  const first = await browser.redirectFrom(authorizeUrl);
  if (!first.pathname.endsWith('/login.html')) throw new Error(`authorization request was not sent to the login page: ${first}`);
  await browser.call('POST', '/auth/', user, `password login of ${user.username}`);
  await grantScopes(browser, authorizeUrl.searchParams.get('client_id') ?? '', authorizeUrl.searchParams.get('scope') ?? '');
  authorizeUrl.searchParams.set('g_continue', '');
  const callback = await browser.redirectFrom(authorizeUrl);
  const page = await fetch(callback);
  return { status: page.status, text: await page.text() };
}

/** The consent step: grants whichever requested scopes this user has not yet granted this client. */
async function grantScopes(browser: HttpSession, clientId: string, scope: string): Promise<void> {
  const grant = await browser.call<{ scope: { name: string; granted: boolean }[] }>(
    'GET',
    `/auth/grant/${encodeURIComponent(clientId)}/${encodeURIComponent(scope)}`,
    undefined,
    'read granted scopes',
  );
  if (grant.scope.every((entry) => entry.granted)) return;
  // The PUT replaces this user's grant for the client. Space-separated, as the code splits
  // it (docs/API.md says comma-separated; a comma list grants nothing and answers 401).
  await browser.call('PUT', `/auth/grant/${encodeURIComponent(clientId)}`, { scope }, 'grant scopes');
}

function codeFromCallback(callback: URL, redirectUri: string, state: string): string {
  const expected = new URL(redirectUri);
  if (callback.origin !== expected.origin || callback.pathname !== expected.pathname) {
    throw new Error(`authorization ended somewhere other than the redirect URI: ${callback}`);
  }
  const params = callback.searchParams;
  const error = params.get('error');
  if (error) throw new Error(`authorization refused: ${error} ${params.get('error_description') ?? ''}`.trim());
  if (params.get('state') !== state) throw new Error(`authorization response has the wrong state: ${callback}`);
  const code = params.get('code');
  if (!code) throw new Error(`authorization response has no code: ${callback}`);
  return code;
}

async function exchangeCode(issuer: string, opts: SignInOptions, code: string, verifier: string): Promise<GlewlwydTokens> {
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: opts.redirectUri, code_verifier: verifier });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (opts.clientSecret === undefined) body.set('client_id', opts.clientId);
  else headers.authorization = basicAuth(opts.clientId, opts.clientSecret);
  const response = await fetch(`${issuer}/token`, { method: 'POST', headers, body });
  const text = await response.text();
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}: ${text}`);
  return JSON.parse(text) as GlewlwydTokens;
}

/** The one ID token check a caller cannot do: only we know the nonce we sent. */
function checkNonce(tokens: GlewlwydTokens, nonce: string): void {
  if (!tokens.id_token) return;
  const payload = JSON.parse(Buffer.from(tokens.id_token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { nonce?: string };
  if (payload.nonce !== nonce) throw new Error(`ID token nonce ${payload.nonce} is not the one sent`);
}

/** RFC 6749 section 2.3.1: both parts form-urlencoded before base64. */
export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

// ---------------------------------------------------------------------------------------------
// HTTP with a session cookie

/** JSON over HTTP with glewlwyd's session cookie kept between calls, like one browser. */
class HttpSession {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly apiUrl: string) {}

  async call<T = unknown>(method: string, apiPath: string, body: unknown, what: string): Promise<T> {
    const response = await fetch(`${this.apiUrl}${apiPath}`, {
      method,
      headers: { cookie: this.cookieHeader(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    this.remember(response);
    const text = await response.text();
    if (!response.ok) throw new Error(`glewlwyd ${what}: ${method} /api${apiPath} answered ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** GETs `url` without following the redirect and returns where it points. */
  async redirectFrom(url: URL): Promise<URL> {
    const response = await fetch(url, { headers: { cookie: this.cookieHeader() }, redirect: 'manual' });
    this.remember(response);
    const location = response.headers.get('location');
    if (response.status !== 302 || !location) {
      throw new Error(`GET ${url.pathname} answered ${response.status} without a redirect: ${await response.text()}`);
    }
    return new URL(location, url);
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const equals = pair.indexOf('=');
      if (equals > 0) this.cookies.set(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim());
    }
  }
}

async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}
