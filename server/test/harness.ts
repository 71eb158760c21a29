import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { inject } from 'vitest';
import type {} from '../../test-support/global-setup';
import { createDatabase } from '../../test-support/postgres';
import { tokenSigner, type TokenOptions } from '../../test-support/tokens';
import { CredentialSealer } from '../src/access/sealer';
import type { ServerConfig } from '../src/config/schema';
import { devConfig } from '../src/dev/catalog';
import { startDevIdp, type DevIdp, type DevIdpOptions } from '../src/dev/idp';
import type { ProviderFactory } from '../src/providers/provider';
import { startServer, type RunningServer } from '../src/server';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: Engine[] = ['sqlite', 'postgres'];
export const AUDIENCE = 'stint-api';

/** A clock tests move by hand: "it is now 10:59:59" is one call. */
export class TestClock {
  constructor(public ms = Date.now()) {}
  now = () => this.ms;
  advance(ms: number) {
    this.ms += ms;
  }
}

/** One database of the given engine, thrown away after the test file. */
export async function testDatabase(engine: Engine): Promise<{ location: string; drop(): Promise<void> }> {
  if (engine === 'postgres') {
    const db = await createDatabase(inject('pgAdminUrl'));
    return { location: db.url, drop: db.drop };
  }
  const dir = mkdtempSync(join(tmpdir(), 'stint-sqlite-'));
  return { location: join(dir, 'stint.sqlite'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Harness {
  idp: DevIdp;
  idpDataDir: string;
  server: RunningServer;
  clock: TestClock;
  database: string;
  credentialKey: string;
  config: ServerConfig;
  token(user: string): Promise<string>;
  /**
   * Someone beyond the dev IdP's seeded people, with a token signed by its key (see forgeToken);
   * answers `sub`, which then works as a user wherever one is passed. A person has one live grant
   * per system, so tests that request a system many times need many people.
   */
  person(sub: string, groups?: string[]): Promise<string>;
  api(user: string | null, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  restart(overrides?: Partial<HarnessOptions>): Promise<void>;
  /** Another server process on the same database and identity provider (closed by close()). */
  replica(): Promise<RunningServer>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  engine: Engine;
  config?: (base: ServerConfig) => ServerConfig;
  providers?: Record<string, ProviderFactory>;
  manualSweep?: boolean;
  sseHeartbeatMs?: number;
  eventPollMs?: number;
  database?: string;
  /** Dev IdP variations (e.g. opaque access tokens). */
  idp?: Pick<DevIdpOptions, 'opaqueAccessTokens' | 'accessTokenTtlSeconds'>;
}

export const quietLogger = () => pino({ level: process.env.STINT_TEST_LOG ?? 'silent' });

/** The real server, on a real database, trusting a real OpenID Provider (the dev IdP). */
export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'stint-idp-'));
  const idp = await startDevIdp({ port: 0, dataDir, audience: AUDIENCE, groupsClaim: 'groups', ...options.idp });
  const db = options.database ? { location: options.database, drop: async () => {} } : await testDatabase(options.engine);
  const clock = new TestClock();
  const credentialKey = CredentialSealer.generateKey();
  const base = devConfig(idp.issuer, AUDIENCE);
  let config = options.config ? options.config(base) : base;
  const tokens = new Map<string, string>();
  let current = options;

  const boot = () =>
    startServer({
      config,
      credentialKey,
      database: db.location,
      devMode: true,
      logger: quietLogger(),
      now: clock.now,
      providers: current.providers,
      manualSweep: current.manualSweep ?? true,
      sseHeartbeatMs: current.sseHeartbeatMs,
      eventPollMs: current.eventPollMs,
    });
  let server = await boot();
  const replicas: RunningServer[] = [];

  const harness: Harness = {
    idp,
    idpDataDir: dataDir,
    get server() {
      return server;
    },
    clock,
    database: db.location,
    credentialKey,
    get config() {
      return config;
    },
    async token(user) {
      let token = tokens.get(user);
      if (!token) {
        token = await idp.mintAccessToken(user);
        tokens.set(user, token);
      }
      return token;
    },
    async person(sub, groups = ['engineering']) {
      if (!tokens.has(sub)) {
        tokens.set(sub, await forgeToken(dataDir, idp.issuer, { groups, name: sub }, { sub, exp: Math.floor(Date.now() / 1000) + 3600 }));
      }
      return sub;
    },
    async api(user, method, path, body, headers = {}) {
      const auth: Record<string, string> = user ? { authorization: `Bearer ${await harness.token(user)}` } : {};
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON (metrics, CSV)
      }
      return { status: response.status, body: parsed as any, headers: response.headers };
    },
    async restart(overrides = {}) {
      await server.close();
      current = { ...current, ...overrides };
      if (overrides.config) config = overrides.config(base);
      server = await boot();
    },
    async replica() {
      const replica = await boot();
      replicas.push(replica);
      return replica;
    },
    async close() {
      for (const replica of replicas) await replica.close();
      await server.close();
      await idp.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

export const MINUTE = 60_000;

/**
 * Signs a token with the dev IdP's own private key (read from its data folder), to test what
 * only claims can break: expiry, audience, issuer, the dev marker.
 */
export async function forgeToken(idpDataDir: string, issuer: string, claims: Record<string, unknown>, options: TokenOptions = {}): Promise<string> {
  return (await tokenSigner(idpDataDir, issuer, AUDIENCE))(claims, options);
}
