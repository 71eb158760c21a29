import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { sql } from 'kysely';
import type { AccessContext } from './access/context';
import { CredentialSealer } from './access/sealer';
import { Sweeper } from './access/sweeper';
import { verifierFor, type Verifier } from './auth/verifier';
import type { ServerConfig } from './config/schema';
import { EventHub } from './events/hub';
import { buildApp } from './http/app';
import { Gauge } from 'prom-client';
import { createMetrics } from './observability/metrics';
import type { ProviderFactory } from './providers/provider';
import { builtInProviders } from './providers/registry';
import { ProviderSet } from './access/revocation';
import { openStore, type Store } from './store/database';
import { writeProbe } from './store/write-probe';
import { AuditSink, auditSinkOf, sinkMetrics, transportFor, type AuditSinkConfig } from './audit/sink';

export interface ServerOptions {
  config: ServerConfig;
  /** Resolved value of config.credentialKey. */
  credentialKey: string;
  /** SQLite file path (or :memory:) or a postgres:// URL. */
  database: string;
  host?: string;
  port?: number;
  devMode?: boolean;
  logger?: Logger;
  now?: () => number;
  /** Extra or replacement providers (tests inject failing ones). */
  providers?: Record<string, ProviderFactory>;
  sweepIntervalMs?: number;
  sseHeartbeatMs?: number;
  /** How often the event hub also polls the event log (a safety net under LISTEN/NOTIFY). */
  eventPollMs?: number;
  /** Do not run the sweeper (tests drive it by hand). */
  manualSweep?: boolean;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  ctx: AccessContext;
  store: Store;
  hub: EventHub;
  sweeper: Sweeper;
  /** Applies a new configuration without dropping state; refuses (and keeps the old) when invalid. */
  reload(config: ServerConfig): void;
  close(): Promise<void>;
}

/** Logs never carry a token or a credential: the usual places they could leak are redacted. */
export function createLogger(level = process.env.STINT_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-stint-id-token"]', 'headers.authorization', '*.password', '*.token', '*.credential', '*.env', '*.fields'],
      censor: '[redacted]',
    },
  });
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? createLogger();
  const log = logger.child({ component: 'stint-server' });
  let config = options.config;
  // An auditSink that is wrong (or whose secret cannot be read) stops the start here, before anything opens.
  const bootSink = auditSinkOf(config);
  const bootTransport = bootSink ? transportFor(bootSink) : null;
  const registry = builtInProviders();
  for (const [type, factory] of Object.entries(options.providers ?? {})) registry.register(type, factory);
  const metrics = createMetrics();
  const providers = new ProviderSet(registry, log, metrics);
  providers.configure(config.systems);

  const store = await openStore(options.database, log);
  const pgUrl = store.dialect === 'postgres' ? options.database : undefined;
  const hub = new EventHub(store, log, { ...(pgUrl ? { pgUrl } : {}), ...(options.eventPollMs ? { pollMs: options.eventPollMs } : {}) });
  await hub.start();

  const makeVerifier = (c: ServerConfig) => verifierFor(c, { devMode: options.devMode ?? false, log, ...(options.now ? { now: options.now } : {}) });
  let verifier: Verifier = makeVerifier(config);

  const ctx: AccessContext = {
    store,
    config: () => config,
    providers,
    sealer: new CredentialSealer(options.credentialKey),
    eventsCommitted: (events) => hub.kick(events),
    now: options.now ?? Date.now,
    log,
    metrics,
    replicaId: randomUUID(),
  };
  // The background connections' state at each scrape: 1 up, 0 reconnecting (the IdP's keys: 1 fresh, 0 stale or none).
  new Gauge({
    name: 'stint_background_connection_up',
    help: 'Background connections: 1 connected, 0 reconnecting (event-listener: PostgreSQL LISTEN; identity-provider: its signing keys fresh)',
    labelNames: ['connection'] as const,
    registers: [metrics.registry],
    collect() {
      const listener = hub.listenerState();
      if (listener) this.set({ connection: 'event-listener' }, listener.up ? 1 : 0);
      this.set({ connection: 'identity-provider' }, verifier.state().idp.state === 'ok' ? 1 : 0);
    },
  });
  // The audit log streamed to a collector, if configured; a reload with other settings starts it anew.
  const sinkDeps = { db: store.db, now: ctx.now, log, metrics: sinkMetrics(metrics.registry), owner: ctx.replicaId };
  const startSink = (sinkConfig: AuditSinkConfig | null, transport = sinkConfig ? transportFor(sinkConfig) : null) => {
    if (!sinkConfig || !transport) return null;
    const sink = new AuditSink(sinkDeps, sinkConfig, transport);
    sink.start();
    return sink;
  };
  let sink: AuditSink | null = startSink(bootSink, bootTransport);
  let sinkChange: Promise<void> = Promise.resolve();
  const sweeper = new Sweeper(ctx, options.sweepIntervalMs);
  // Overdue work first: anything past its deadline while we were down is revoked before we serve.
  await sweeper.runOnce();

  const writes = writeProbe(store);
  const app = await buildApp({
    ctx,
    hub,
    verifier: () => verifier,
    logger,
    sseHeartbeatMs: options.sseHeartbeatMs,
    ready: async () => {
      const [database, writeProblem] = await Promise.all([sql`select 1`.execute(store.db).then(() => true, () => false), writes.check()]);
      const identityProvider = await verifier.warmUp();
      const { idp, mapping } = verifier.state();
      const listener = hub.listenerState();
      return {
        checks: { database, storageWritable: writeProblem === null, identityProvider, identityMapping: mapping.ok, ...(listener ? { eventListener: listener.up } : {}) },
        detail: {
          database: database ? 'answers' : 'does not answer',
          storageWritable: writeProblem === null ? 'takes writes' : `cannot write (${writeProblem})`,
          identityProvider: idp.detail,
          identityMapping: mapping.detail,
          ...(listener ? { eventListener: listener.detail } : {}),
        },
      };
    },
  });
  const url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  if (!options.manualSweep) sweeper.start();
  void verifier.warmUp();

  return {
    url,
    app,
    ctx,
    store,
    hub,
    sweeper,
    reload(next) {
      // Checked before anything changes: an invalid auditSink (or an unreadable secret of it) refuses the whole reload.
      const nextSink = auditSinkOf(next);
      const sinkChanged = JSON.stringify(nextSink) !== JSON.stringify(sink?.config ?? null);
      const nextTransport = sinkChanged && nextSink ? transportFor(nextSink) : null;
      const retired = providers.configure(next.systems);
      if (retired.length > 0) {
        // Said once per retired provider, with how many grants it still has to revoke.
        void ProviderSet.liveGrants(store.db, retired.map((held) => held.key)).then(
          (counts) => {
            for (const held of retired) {
              log.warn(
                { systemId: held.system.id, providerKey: held.key, liveGrants: counts.get(held.key) ?? 0 },
                `the reload ${next.systems.some((s) => s.id === held.system.id) ? 'changed' : 'removed'} system ${held.system.id}; its previous provider is kept until the ${counts.get(held.key) ?? 0} grant(s) it issued have ended`,
              );
            }
          },
          (error: unknown) => log.warn({ err: (error as Error).message }, 'could not count the grants of retired providers'),
        );
      }
      if (sinkChanged) {
        const previous = sink;
        sink = null;
        sinkChange = sinkChange
          .then(() => previous?.stop())
          .then(() => {
            sink = startSink(nextSink, nextTransport);
          })
          .catch((error: unknown) => log.error({ err: (error as Error).message }, 'could not start the audit sink of the reloaded configuration'));
      }
      const authKeys = (c: ServerConfig) => JSON.stringify([c.issuer, c.audience, c.groupsClaim, c.adminGroups, c.auditorGroups, c.identity, c.desktopClient.clientId]);
      const authChanged = authKeys(next) !== authKeys(config);
      config = next;
      if (authChanged) verifier = makeVerifier(next);
      log.info({ systems: next.systems.length }, 'configuration reloaded');
    },
    async close() {
      await sinkChange;
      await sink?.stop();
      await sweeper.stop();
      await app.close();
      await providers.close();
      await hub.close();
      await store.close();
    },
  };
}
