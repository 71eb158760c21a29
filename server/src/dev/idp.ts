/**
 * The dev identity provider: a real OpenID Provider (oidc-provider, a certified OP library) that
 * `stint-server dev` embeds so the desktop app and the tests can sign in with no external IdP.
 * It knows the seeded users of users.ts and one public native client, the desktop app.
 *
 * Never run this in production: the users and their passwords are printed, sessions and
 * refresh tokens live in memory, and the signing key sits in a file under dataDir.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
// @ts-expect-error -- oidc-provider ships no type declarations and @types/oidc-provider is not a dependency; the part used here is typed below (ProviderConstructor).
import OidcProvider, { errors as oidcErrors } from 'oidc-provider';
import { z } from 'zod';
import { DEV_TOKEN_CLAIM } from '../auth/verifier';
import { DEV_USERS, findDevUser, type DevUser } from './users';

export type { DevUser } from './users';

export interface DevIdpOptions {
  /** Interface to listen on; default 127.0.0.1 (the issuer URL uses it too). */
  host?: string;
  /** 0 = ephemeral. */
  port: number;
  /** The signing keys are kept here (idp-jwks.json, mode 0600) so tokens survive restarts. */
  dataDir: string;
  /** The API's audience; JWT access tokens carry aud = this. */
  audience: string;
  /** Claim holding the user's groups in access and ID tokens, e.g. 'groups'. */
  groupsClaim: string;
  /** Default 'stint-desktop'. */
  clientId?: string;
  /** Default 900. */
  accessTokenTtlSeconds?: number;
  /**
   * Like many company IdPs: opaque access tokens (no resource indicator, so no JWT and no aud)
   * that only RFC 7662 introspection by this confidential client can check, and groups, name
   * and email only from userinfo, never in the token. Tests use it to prove Stint needs
   * neither JWT access tokens nor groups in them.
   */
  opaqueAccessTokens?: { introspectionClientId: string; introspectionSecret: string };
}

export interface DevIdp {
  /** e.g. http://127.0.0.1:PORT, exactly what discovery says. */
  issuer: string;
  clientId: string;
  audience: string;
  users: readonly DevUser[];
  /**
   * Mints a JWT access token for a seeded user through oidc-provider's own AccessToken model
   * (not hand-signed), same format as tokens issued by the token endpoint. Throws for an
   * unknown user.
   */
  mintAccessToken(userId: string, opts?: { ttlSeconds?: number }): Promise<string>;
  close(): Promise<void>;
}

const JWKS_FILE = 'idp-jwks.json';
const SIGNING_ALG = 'RS256';
/** RFC 8252 §7.3: registered without a port; oidc-provider accepts any port on the loopback for native clients. */
const LOOPBACK_REDIRECT_URI = 'http://127.0.0.1/callback';
const LOOPBACK_POST_LOGOUT_REDIRECT_URI = 'http://127.0.0.1/logged-out';
const DAY = 24 * 60 * 60;

// ---------------------------------------------------------------------------------------------
// The part of oidc-provider's API used here (it ships no types).

interface OidcClient {
  clientId: string;
}
interface OidcResourceServerInfo {
  scope: string;
  audience: string;
  accessTokenFormat: 'jwt';
  accessTokenTTL: number;
}
interface OidcResourceServer {
  accessTokenTTL?: number;
}
interface OidcGrant {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface OidcAccessToken {
  accountId?: string;
  resourceServer?: OidcResourceServer;
  save(): Promise<string>;
}
interface OidcAccount {
  accountId: string;
  claims(use: string, scope: string): Promise<Record<string, unknown>>;
}
/** The bits of a Koa context our middleware touches. */
interface KoaContext {
  method: string;
  path: string;
  req: IncomingMessage & { body?: unknown };
  status: number;
  type: string;
  body: unknown;
  is(...types: string[]): string | false | null;
  set(field: string, value: string): void;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface Provider {
  issuer: string;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(middleware: KoaMiddleware): void;
  on(event: 'server_error', listener: (ctx: KoaContext, error: Error) => void): void;
  Client: { find(id: string): Promise<OidcClient | undefined> };
  AccessToken: new (init: {
    accountId: string;
    client: OidcClient;
    resourceServer?: OidcResourceServer;
    grantId?: string;
    scope?: string;
    expiresIn: number;
  }) => OidcAccessToken;
  Grant: new (init: { accountId: string; clientId: string }) => OidcGrant;
  ResourceServer: new (identifier: string, info: OidcResourceServerInfo) => OidcResourceServer;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => Provider;
const ProviderClass = OidcProvider as ProviderConstructor;
const InvalidTarget = (oidcErrors as { InvalidTarget: new (description?: string) => Error }).InvalidTarget;

// ---------------------------------------------------------------------------------------------

/** Starts the dev IdP on host:port and answers at `${issuer}/.well-known/openid-configuration`. */
export async function startDevIdp(opts: DevIdpOptions): Promise<DevIdp> {
  const host = opts.host ?? '127.0.0.1';
  // The provider needs its issuer (with the real port) before it exists, so listen first and
  // answer 503 for the instant before the provider is attached.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) return handler(req, res);
    res.statusCode = 503;
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    const { port } = server.address() as AddressInfo;
    const issuer = `http://${issuerHost(host)}:${port}`;
    const idp = await buildProvider({ ...opts, issuer });
    handler = idp.provider.callback();
    let closing: Promise<void> | undefined;
    return {
      issuer,
      clientId: idp.clientId,
      audience: opts.audience,
      users: DEV_USERS,
      mintAccessToken: idp.mintAccessToken,
      close: () => (closing ??= closeServer(server)),
    };
  } catch (error) {
    await closeServer(server);
    throw error;
  }
}

/**
 * Same provider without listening on a port (for the `stint-server dev-token` command): needs
 * the issuer URL the running dev IdP uses and the same dataDir so tokens verify against the
 * same keys.
 */
export async function createDevIdpForMinting(
  opts: DevIdpOptions & { issuer: string },
): Promise<Pick<DevIdp, 'mintAccessToken' | 'issuer' | 'audience'>> {
  const { provider, mintAccessToken } = await buildProvider(opts);
  return { issuer: provider.issuer, audience: opts.audience, mintAccessToken };
}

async function buildProvider(opts: DevIdpOptions & { issuer: string }) {
  const clientId = opts.clientId ?? 'stint-desktop';
  const defaultTtl = opts.accessTokenTtlSeconds ?? 900;
  const { audience, groupsClaim } = opts;
  const opaque = opts.opaqueAccessTokens;
  assertTtl(defaultTtl);
  const jwks = await loadOrCreateSigningKeys(opts.dataDir);

  // RFC 8707 resource indicators must be absolute URIs, while an API audience is often a bare
  // name ("stint-api"). The token's aud comes from the resource server's `audience`, so the
  // indicator only has to name it.
  const resourceIndicator = URL.canParse(audience) && !audience.includes('#')
    ? audience
    : `urn:stint:audience:${encodeURIComponent(audience)}`;
  const resourceServerInfo = (accessTokenTTL: number): OidcResourceServerInfo => ({
    // The API authorizes by groups, not scopes, so its tokens carry no resource scope.
    scope: '',
    audience,
    accessTokenFormat: 'jwt',
    accessTokenTTL,
  });

  const accountFor = (id: string): OidcAccount | undefined => {
    const user = findDevUser(id);
    if (!user) return undefined;
    return {
      accountId: user.id,
      // oidc-provider filters these by the granted scopes and claims (see `claims` below).
      claims: async () => ({
        sub: user.id,
        name: user.name,
        preferred_username: user.id,
        email: user.email,
        email_verified: true,
        [groupsClaim]: [...user.groups],
      }),
    };
  };

  const provider = new ProviderClass(opts.issuer, {
    clients: [
      {
        client_id: clientId,
        client_name: 'Stint desktop (dev)',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [LOOPBACK_REDIRECT_URI],
        post_logout_redirect_uris: [LOOPBACK_POST_LOGOUT_REDIRECT_URI],
      },
      ...(opaque
        ? [{ client_id: opaque.introspectionClientId, client_secret: opaque.introspectionSecret, grant_types: [], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' }]
        : []),
    ],
    responseTypes: ['code'],
    // oidc-provider v9 supports S256 only; require it for every client, not just public ones.
    pkce: { required: () => true },
    jwks,
    adapter: createMemoryAdapter(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username', groupsClaim],
      email: ['email', 'email_verified'],
      groups: [groupsClaim],
    },
    findAccount: async (_ctx: unknown, sub: string) => accountFor(sub),
    // Every access token names who it is for, so the API can show a person without a
    // userinfo round trip, and carries the dev marker: a server not in dev mode refuses it.
    extraTokenClaims: async (_ctx: unknown, token: OidcAccessToken) => {
      const user = token.accountId ? findDevUser(token.accountId) : undefined;
      if (!user) return undefined;
      if (opaque) return { [DEV_TOKEN_CLAIM]: true };
      return {
        [groupsClaim]: [...user.groups],
        name: user.name,
        preferred_username: user.id,
        email: user.email,
        [DEV_TOKEN_CLAIM]: true,
      };
    },
    // The desktop app asks for offline_access, but oidc-provider drops it from a request that
    // carries `prompt` without `consent`; the app still needs a refresh token to stay signed
    // in, so the one (native) client always gets one. Refresh tokens are rotated on every use,
    // and reusing a spent one revokes the whole grant (oidc-provider's replay detection).
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // Token requests come from the desktop core under Node, never from a browser page, so no
    // origin needs CORS on the client-bound endpoints (discovery and JWKS stay open).
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: (_ctx: unknown, token: OidcAccessToken) => token.resourceServer?.accessTokenTTL ?? defaultTtl,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      RefreshToken: 14 * DAY,
      Interaction: 60 * 60,
      Session: 14 * DAY,
      Grant: 14 * DAY,
    },
    renderError: async (ctx: KoaContext, out: Record<string, unknown>) => {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', Object.entries(out).map(([k, v]) => `<p><b>${escapeHtml(k)}</b>: ${escapeHtml(String(v))}</p>`).join(''));
    },
    features: {
      // oidc-provider's built-in login and consent pages. They do not check passwords
      // (any login name is accepted); checkDevPassword below adds that in front of them.
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContext, form: string) => {
          ctx.body = page(
            'Sign out',
            `${form}<p>Sign out of the Stint dev identity provider?</p>
            <button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
            <button type="submit" form="op.logoutForm">Stay signed in</button>`,
          );
        },
        postLogoutSuccessSource: async (ctx: KoaContext) => {
          ctx.body = page('Signed out', '<p>You are signed out of the Stint dev identity provider.</p>');
        },
      },
      revocation: { enabled: true },
      introspection: { enabled: Boolean(opaque) },
      resourceIndicators: {
        enabled: !opaque,
        defaultResource: async () => resourceIndicator,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (indicator !== resourceIndicator) throw new InvalidTarget(`this identity provider only issues tokens for ${resourceIndicator}`);
          return resourceServerInfo(defaultTtl);
        },
      },
    },
  });

  provider.use(checkDevPassword);
  // oidc-provider only reports server errors through `debug`; say something, but never the
  // request (it may hold codes or tokens).
  provider.on('server_error', (ctx, error) => {
    console.error(`dev IdP: server error on ${ctx.method} ${ctx.path}: ${error.message}`);
  });

  async function mintAccessToken(userId: string, mintOpts?: { ttlSeconds?: number }): Promise<string> {
    const user = findDevUser(userId);
    if (!user) throw new Error(`"${userId}" is not a dev user; use one of ${DEV_USERS.map((u) => u.id).join(', ')}.`);
    const ttl = mintOpts?.ttlSeconds ?? defaultTtl;
    assertTtl(ttl);
    const client = await provider.Client.find(clientId);
    if (!client) throw new Error(`dev IdP client ${clientId} is missing`);
    if (opaque) {
      // As the token endpoint would: a grant of the OIDC scopes, so userinfo answers for it.
      const grant = new provider.Grant({ accountId: user.id, clientId });
      grant.addOIDCScope('openid profile email groups');
      const grantId = await grant.save();
      return new provider.AccessToken({ accountId: user.id, client, grantId, scope: 'openid profile email groups', expiresIn: ttl }).save();
    }
    const token = new provider.AccessToken({
      accountId: user.id,
      client,
      resourceServer: new provider.ResourceServer(resourceIndicator, resourceServerInfo(ttl)),
      expiresIn: ttl,
    });
    return token.save();
  }

  return { provider, clientId, mintAccessToken };
}

// ---------------------------------------------------------------------------------------------
// Passwords for the dev login page.

const INTERACTION_SUBMIT = /^\/interaction\/([A-Za-z0-9_-]+)$/;
const FORM_LIMIT = 16 * 1024;

/**
 * devInteractions accepts any login name with any password. This checks the printed dev
 * password in front of its login form, so a demo shows who is signed in for a reason and a
 * typo does not quietly sign in someone else. The body is read here and handed on as
 * `req.body`, which oidc-provider reads instead of the stream (it notes that once in the log).
 */
const checkDevPassword: KoaMiddleware = async (ctx, next) => {
  const uid = ctx.method === 'POST' ? INTERACTION_SUBMIT.exec(ctx.path)?.[1] : undefined;
  if (!uid || !ctx.is('application/x-www-form-urlencoded')) return next();
  const raw = await readBody(ctx.req);
  if (raw === undefined) {
    ctx.status = 413;
    ctx.body = 'sign-in form too large';
    return;
  }
  const form = new URLSearchParams(raw);
  ctx.req.body = Object.fromEntries(form);
  if (form.get('prompt') !== 'login') return next();
  const user = findDevUser(form.get('login') ?? '');
  if (user && sameSecret(form.get('password') ?? '', user.password)) return next();
  ctx.status = 401;
  ctx.set('cache-control', 'no-store');
  ctx.type = 'html';
  ctx.body = page(
    'Sign-in failed',
    `<p>Unknown user or wrong password. The dev users and their passwords are printed by
    <code>stint-server dev</code> when it starts.</p><p><a href="/interaction/${uid}">Try again</a></p>`,
  );
};

/** The form as text, or undefined when it is larger than any sign-in form can be. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

// ---------------------------------------------------------------------------------------------
// Storage for sessions, grants, codes and tokens.

/** Models whose records belong to a grant and die with it (revocation, refresh token reuse). */
const GRANT_MEMBERS = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);
const SWEEP_EVERY = 200;

type StoredPayload = Record<string, unknown> & { uid?: string; grantId?: string; consumed?: number };

/**
 * In-memory storage, gone on restart (so are sign-in sessions and refresh tokens; the desktop
 * app then signs in again). oidc-provider's own memory adapter is an LRU of 1000 entries
 * shared by every model, so a busy test run that mints many access tokens would evict live
 * sessions and refresh tokens; here records leave only when they expire or are removed.
 */
function createMemoryAdapter() {
  const records = new Map<string, { payload: StoredPayload; expiresAt: number }>();
  const grantMembers = new Map<string, Set<string>>();
  const sessionByUid = new Map<string, string>();
  let writes = 0;

  const read = (key: string): StoredPayload | undefined => {
    const record = records.get(key);
    if (record && record.expiresAt <= Date.now()) records.delete(key);
    else return record?.payload;
    return undefined;
  };
  const sweep = () => {
    const now = Date.now();
    for (const [key, record] of records) if (record.expiresAt <= now) records.delete(key);
    for (const [uid, id] of sessionByUid) if (!records.has(`Session:${id}`)) sessionByUid.delete(uid);
    for (const [grantId, keys] of grantMembers) {
      for (const key of keys) if (!records.has(key)) keys.delete(key);
      if (keys.size === 0) grantMembers.delete(grantId);
    }
  };

  return (model: string) => {
    const keyOf = (id: string) => `${model}:${id}`;
    return {
      async upsert(id: string, payload: StoredPayload, expiresIn?: number) {
        if (++writes % SWEEP_EVERY === 0) sweep();
        const key = keyOf(id);
        records.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
        if (model === 'Session' && payload.uid) sessionByUid.set(payload.uid, id);
        if (GRANT_MEMBERS.has(model) && payload.grantId) {
          const keys = grantMembers.get(payload.grantId) ?? new Set<string>();
          keys.add(key);
          grantMembers.set(payload.grantId, keys);
        }
      },
      async find(id: string) {
        return read(keyOf(id));
      },
      async findByUid(uid: string) {
        const id = sessionByUid.get(uid);
        return id === undefined ? undefined : read(`Session:${id}`);
      },
      // The device flow is not enabled, so nothing has a user code.
      async findByUserCode() {
        return undefined;
      },
      async consume(id: string) {
        const payload = read(keyOf(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id: string) {
        records.delete(keyOf(id));
      },
      async revokeByGrantId(grantId: string) {
        for (const key of grantMembers.get(grantId) ?? []) records.delete(key);
        grantMembers.delete(grantId);
      },
    };
  };
}

// ---------------------------------------------------------------------------------------------
// Signing keys.

const PrivateJwks = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), d: z.string() })).min(1),
});
type PrivateJwks = z.infer<typeof PrivateJwks>;

/**
 * Reuses dataDir/idp-jwks.json or creates it. Kept so access tokens (and the API's cached
 * JWKS) stay valid across restarts. Created atomically (link of a finished temp file), so the
 * server and a concurrent `stint-server dev-token` agree on one key; 0600 because it is a
 * private key, however dev-only.
 */
async function loadOrCreateSigningKeys(dataDir: string): Promise<PrivateJwks> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, JWKS_FILE);
  const existing = await readJwks(file);
  if (existing) return existing;

  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const created = { keys: [{ ...jwk, kid, alg: SIGNING_ALG, use: 'sig' }] };
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temp);
  }
  const stored = await readJwks(file);
  if (!stored) throw new Error(`could not create ${file}`);
  return stored;
}

async function readJwks(file: string): Promise<PrivateJwks | undefined> {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = PrivateJwks.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file} is not a private JWKS; delete it to make a new signing key`);
  if (process.platform !== 'win32' && ((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------

function assertTtl(seconds: number): void {
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new Error(`a token lifetime must be a positive whole number of seconds, not ${seconds}`);
}

function issuerHost(host: string): string {
  // A wildcard listen address is no place to send a browser; the loopback is.
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function closeServer(server: ReturnType<typeof createServer>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}
