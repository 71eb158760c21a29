// Streams the audit log to a collector (a SIEM's HTTP endpoint, or syslog) as it is written.
// At least once and in order: a batch is sent, and only once the sink has accepted it does the
// cursor in the database move past it. A restart, a crash or a sink that is down loses nothing:
// delivery goes on from the cursor, with backoff while the sink fails. A lease on the cursor keeps
// replicas from delivering at once (one sends; the others wait for its lease to lapse).
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { hostname } from 'node:os';
import net from 'node:net';
import type { AuditEntry } from '@stint/contract';
import type { Kysely } from 'kysely';
import { Counter, Gauge, type Registry } from 'prom-client';
import { readSecret } from '../config/load';
import type { Database } from '../store/schema';
import { toAuditEntry } from './chain';
import { AuditSinkConfig } from './sink-config';

export { AuditSinkConfig } from './sink-config';

/** How long a replica owns the cursor without renewing it (it renews on every poll). */
export const SINK_LEASE_MS = 60_000;

export interface SinkLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Sends one batch; resolves once the sink has taken it all, rejects otherwise. */
export interface SinkTransport {
  readonly describe: string;
  send(entries: readonly AuditEntry[], signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface SinkMetrics {
  delivered: Counter<'sink'>;
  failures: Counter<'sink'>;
  cursor: Gauge<'sink'>;
}

const metricsByRegistry = new WeakMap<Registry, SinkMetrics>();
/** The sink's metrics, registered once per registry (a reload makes a new sink, not new metrics). */
export function sinkMetrics(registry: Registry): SinkMetrics {
  let metrics = metricsByRegistry.get(registry);
  if (!metrics) {
    metrics = {
      delivered: new Counter({ name: 'stint_audit_sink_delivered_total', help: 'Audit rows the sink accepted', labelNames: ['sink'], registers: [registry] }),
      failures: new Counter({ name: 'stint_audit_sink_failures_total', help: 'Deliveries to the audit sink that failed (each is retried)', labelNames: ['sink'], registers: [registry] }),
      cursor: new Gauge({ name: 'stint_audit_sink_delivered_seq', help: 'The last audit seq the sink accepted', labelNames: ['sink'], registers: [registry] }),
    };
    metricsByRegistry.set(registry, metrics);
  }
  return metrics;
}

/** The configured sink, if any: `auditSink` is read and checked here whether or not the config schema already knows it. */
export function auditSinkOf(config: object): AuditSinkConfig | null {
  const raw = (config as { auditSink?: unknown }).auditSink;
  if (raw === undefined || raw === null) return null;
  const parsed = AuditSinkConfig.safeParse(raw);
  if (!parsed.success) throw new Error(`auditSink: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export const backoffMs = (failures: number, retry: { initialMs: number; maxMs: number }) => Math.min(retry.maxMs, retry.initialMs * 2 ** Math.max(0, failures - 1));

export interface AuditSinkDeps {
  db: Kysely<Database>;
  now: () => number;
  log: SinkLog;
  metrics?: SinkMetrics;
  /** Names this process in the lease. */
  owner?: string;
}

export class AuditSink {
  private readonly owner: string;
  private stopped = false;
  private running: Promise<void> | null = null;
  private inFlight: AbortController | null = null;
  private wake: (() => void) | null = null;
  private failures = 0;
  private cursorMade = false;
  /** While this process holds the lease: the cursor as it left it, and until when the lease runs. */
  private held: { delivered: number; until: number } | null = null;

  constructor(
    private readonly deps: AuditSinkDeps,
    readonly config: AuditSinkConfig,
    private readonly transport: SinkTransport,
  ) {
    this.owner = deps.owner ?? randomUUID();
  }

  start(): void {
    if (this.running) return;
    this.deps.log.info({ sink: this.config.name, to: this.transport.describe }, 'streaming the audit log to its sink');
    this.running = this.loop();
  }

  /**
   * Stops delivering: a batch in flight is abandoned (its rows are sent again after a restart:
   * at least once), and the lease is given up so the next process need not wait for it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.inFlight?.abort(new Error('the server is stopping'));
    this.wake?.();
    await this.running;
    await this.deps.db
      .updateTable('audit_sink_cursor')
      .set({ lease_owner: null, lease_until: null })
      .where('sink', '=', this.config.name)
      .where('lease_owner', '=', this.owner)
      .execute()
      .catch(() => undefined);
    await this.transport.close();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let wait = this.config.pollMs;
      try {
        const sent = await this.deliverOnce();
        if (this.failures > 0) this.deps.log.info({ sink: this.config.name, after: this.failures }, 'the audit sink takes rows again');
        this.failures = 0;
        if (sent === this.config.batchSize) wait = 0;
      } catch (error) {
        if (this.stopped) break;
        // Read the cursor again next time: what failed may have been the database.
        this.held = null;
        this.failures++;
        wait = backoffMs(this.failures, this.config.retry);
        const message = errorText(error);
        this.deps.metrics?.failures.inc({ sink: this.config.name });
        this.deps.log.warn({ sink: this.config.name, to: this.transport.describe, err: message, failures: this.failures, retryInMs: wait }, 'could not deliver audit rows to the sink; will retry');
        await this.deps.db
          .updateTable('audit_sink_cursor')
          .set({ last_error: message.slice(0, 1000) })
          .where('sink', '=', this.config.name)
          .where('lease_owner', '=', this.owner)
          .execute()
          .catch(() => undefined);
      }
      if (wait > 0 && !this.stopped) await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** One round: take (or renew) the lease, send the rows after the cursor, move it. Answers how many rows were sent. */
  async deliverOnce(): Promise<number> {
    const { db, now } = this.deps;
    const delivered = await this.claim();
    if (delivered === null) return 0;
    const rows = await db.selectFrom('audit').selectAll().where('seq', '>', delivered).orderBy('seq').limit(this.config.batchSize).execute();
    if (rows.length === 0) return 0;
    const entries = rows.map(toAuditEntry);
    const controller = new AbortController();
    this.inFlight = controller;
    try {
      await this.transport.send(entries, controller.signal);
    } finally {
      this.inFlight = null;
    }
    const last = entries.at(-1)!.seq;
    const moved = await db
      .updateTable('audit_sink_cursor')
      .set({ delivered_seq: last, updated_at: now(), last_error: null })
      .where('sink', '=', this.config.name)
      .where('lease_owner', '=', this.owner)
      .where('delivered_seq', '=', delivered)
      .executeTakeFirst();
    // Lost the lease while sending (it lapsed, another replica took over): that replica sends
    // these rows again, which at-least-once allows.
    if (Number(moved.numUpdatedRows) === 0) {
      this.held = null;
      return 0;
    }
    if (this.held) this.held.delivered = last;
    this.deps.metrics?.delivered.inc({ sink: this.config.name }, entries.length);
    this.deps.metrics?.cursor.set({ sink: this.config.name }, last);
    return entries.length;
  }

  /** Makes the cursor if there is none, then takes or renews its lease; answers the delivered seq, or null while another replica holds it. */
  private async claim(): Promise<number | null> {
    const { db, now } = this.deps;
    const at = now();
    // Renewed once half of it has run, so an idle poll costs one read, not a write.
    if (this.held && at < this.held.until - SINK_LEASE_MS / 2) return this.held.delivered;
    this.held = null;
    if (!this.cursorMade) {
      const exists = await db.selectFrom('audit_sink_cursor').select('sink').where('sink', '=', this.config.name).executeTakeFirst();
      if (!exists) {
        const head = this.config.startAt === 'latest' ? await db.selectFrom('audit').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst() : undefined;
        await db
          .insertInto('audit_sink_cursor')
          .values({ sink: this.config.name, delivered_seq: Number(head?.seq ?? 0), lease_owner: null, lease_until: null, updated_at: at, last_error: null })
          .onConflict((oc) => oc.column('sink').doNothing())
          .execute();
      }
      this.cursorMade = true;
    }
    const taken = await db
      .updateTable('audit_sink_cursor')
      .set({ lease_owner: this.owner, lease_until: at + SINK_LEASE_MS })
      .where('sink', '=', this.config.name)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', this.owner), eb('lease_until', '<', at)]))
      .returning('delivered_seq')
      .executeTakeFirst();
    if (!taken) return null;
    this.held = { delivered: Number(taken.delivered_seq), until: at + SINK_LEASE_MS };
    return this.held.delivered;
  }
}

const errorText = (error: unknown) => {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ? `${e.message} (${e.cause.code})` : (e?.message ?? String(error));
};

// ---------------------------------------------------------------------------------------------
// Transports

export function transportFor(config: AuditSinkConfig, env: NodeJS.ProcessEnv = process.env): SinkTransport {
  return config.type === 'http' ? httpTransport(config, env) : syslogTransport(config);
}

type HttpSink = Extract<AuditSinkConfig, { type: 'http' }>;
type SyslogSink = Extract<AuditSinkConfig, { type: 'syslog' }>;

/** POSTs each batch as JSON lines; any 2xx is acceptance. Secrets in headers are read once, here. */
export function httpTransport(config: HttpSink, env: NodeJS.ProcessEnv = process.env): SinkTransport {
  const headers = Object.fromEntries(Object.entries(config.headers).map(([name, value]) => [name, typeof value === 'string' ? value : readSecret(value, `auditSink.headers.${name}`, '/', env)]));
  const url = new URL(config.url);
  return {
    describe: `${url.origin}${url.pathname}`,
    async send(entries, signal) {
      const response = await fetch(config.url, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/x-ndjson',
          // The receiver can drop a batch it has seen (a redelivery after a restart) by these.
          'stint-audit-first-seq': String(entries[0]!.seq),
          'stint-audit-last-seq': String(entries.at(-1)!.seq),
        },
        body: entries.map((e) => `${JSON.stringify(e)}\n`).join(''),
        signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
        redirect: 'error',
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`the sink answered HTTP ${response.status}`);
    },
    close: async () => undefined,
  };
}

/** RFC 5424 text of one row: the entry as JSON, its seq and hash also as structured data. */
export function syslogMessage(entry: AuditEntry, options: { facility: number; appName: string; host?: string; maxBytes?: number }): string {
  const sdValue = (value: string) => value.replace(/["\\\]]/g, (c) => `\\${c}`);
  const ascii = (value: string, max: number) => value.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';
  const header = `<${options.facility * 8 + 6}>1 ${entry.at} ${ascii(options.host ?? hostname(), 255)} ${ascii(options.appName, 48)} ${process.pid} ${ascii(entry.action, 32)}`;
  // 32473 is the enterprise number RFC 5612 sets aside for examples and documentation.
  const sd = `[stint@32473 seq="${entry.seq}" hash="${sdValue(entry.hash)}"]`;
  let message = `${header} ${sd} ${JSON.stringify(entry)}`;
  if (options.maxBytes !== undefined && Buffer.byteLength(message) > options.maxBytes) {
    // Too big for one datagram: the row's detail is left out, its hash and seq say which row to pull.
    message = `${header} ${sd} ${JSON.stringify({ ...entry, detail: { truncated: true } })}`;
  }
  return message;
}

/** UDP: one datagram per row (accepted once sent; UDP itself confirms nothing). TCP: RFC 6587 framing on one connection. */
export function syslogTransport(config: SyslogSink): SinkTransport {
  const describeTo = `syslog+${config.protocol}://${config.host}:${config.port}`;
  const format = (entry: AuditEntry, maxBytes?: number) => syslogMessage(entry, { facility: config.facility, appName: config.appName, ...(maxBytes ? { maxBytes } : {}) });
  if (config.protocol === 'udp') {
    let socket: dgram.Socket | null = null;
    return {
      describe: describeTo,
      async send(entries, signal) {
        socket ??= dgram.createSocket(net.isIPv6(config.host) ? 'udp6' : 'udp4');
        for (const entry of entries) {
          signal.throwIfAborted();
          const data = Buffer.from(format(entry, 60_000));
          await new Promise<void>((resolve, reject) => socket!.send(data, config.port, config.host, (error) => (error ? reject(error) : resolve())));
        }
      },
      async close() {
        socket?.close();
        socket = null;
      },
    };
  }
  let connection: Promise<net.Socket> | null = null;
  const connect = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: config.host, port: config.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error('connecting to the syslog server timed out')), 10_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      // A connection the server closed is made again for the next batch.
      for (const event of ['end', 'close', 'error']) socket.on(event, () => (connection = null));
    });
  return {
    describe: describeTo,
    async send(entries, signal) {
      connection ??= connect();
      let socket: net.Socket;
      try {
        socket = await connection;
      } catch (error) {
        connection = null;
        throw error;
      }
      signal.throwIfAborted();
      if (!socket.writable) {
        connection = null;
        throw new Error('the syslog connection closed');
      }
      const frames = entries.map((entry) => {
        const message = format(entry);
        return config.framing === 'octet-counting' ? `${Buffer.byteLength(message)} ${message}` : `${message}\n`;
      });
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          socket.destroy();
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        socket.write(frames.join(''), (error) => {
          signal.removeEventListener('abort', onAbort);
          if (error) {
            socket.destroy();
            reject(error);
          } else resolve();
        });
      });
    },
    async close() {
      const socket = await connection?.catch(() => null);
      socket?.end();
      connection = null;
    },
  };
}
