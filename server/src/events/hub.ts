import type { StintEventEnvelope } from '@stint/contract';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import type { Store } from '../store/database';
import { isFor, lastEventId, PG_EVENT_CHANNEL, readEventsAfter, type LoggedEvent } from './log';

export interface Subscriber {
  user: Pick<Principal, 'sub' | 'groups'>;
  send(envelope: StintEventEnvelope): void;
}

/**
 * Fans new events out to this replica's connected clients. Every replica reads the shared
 * event log, so a client gets its events whichever replica it is connected to; a wake-up
 * comes from this process (kick), PostgreSQL LISTEN, or a slow safety poll.
 */
/** The longest wait between attempts to LISTEN again: back within this long of PostgreSQL's return. */
const RELISTEN_MAX_MS = 4_000;

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private cursor = 0;
  private pumping: Promise<void> | null = null;
  private again = false;
  private listener: pg.Client | null = null;
  private poll: NodeJS.Timeout | null = null;
  private closed = false;
  /** The LISTEN connection's state, for /readyz and /metrics; null while none is used (SQLite). */
  private listening: { up: boolean; since: number } | null = null;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly options: { pgUrl?: string; pollMs?: number } = {},
  ) {}

  async start(): Promise<void> {
    this.cursor = await lastEventId(this.store.reader);
    if (this.options.pgUrl) await this.listen(this.options.pgUrl);
    this.poll = setInterval(() => this.kick(), this.options.pollMs ?? 2000);
    this.poll.unref();
  }

  /**
   * LISTENs for other replicas' events on a connection of its own, and keeps doing so: when the
   * connection is lost (PostgreSQL restarted, the network dropped) it tries again, every second
   * and then less often (up to every RELISTEN_MAX_MS), for as long as it takes. Until then the
   * safety poll delivers, late; once connected again a kick catches up at once. Each change of
   * state (lost, back) is logged once, not each failed attempt.
   */
  private async listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    // The payload is the last event id the insert made: one this process already delivered (its
    // own, handed over in memory) needs no read of the log. Anything else reads it.
    client.on('notification', ({ payload }) => {
      if (payload && /^\d+$/.test(payload) && Number(payload) <= this.cursor) return;
      this.kick();
    });
    let lost = false;
    const onLost = (why: string) => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = null;
      void client.end().catch(() => undefined);
      this.listening = { up: false, since: Date.now() };
      this.log.warn({ err: why }, 'event listener connection lost; reconnecting');
      this.relisten(url, 1000);
    };
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_EVENT_CHANNEL}`);
    } catch (error) {
      lost = true; // the caller retries (relisten): no second loop from this client's events
      void client.end().catch(() => undefined);
      throw error;
    }
    client.on('error', (error) => onLost(error.message));
    client.on('end', () => onLost('the connection ended'));
    this.listener = client;
    if (this.listening && !this.listening.up) this.log.info({ downMs: Date.now() - this.listening.since }, 'event listener connected again');
    this.listening = { up: true, since: Date.now() };
    this.kick();
  }

  private relisten(url: string, delayMs: number): void {
    if (this.closed) return;
    setTimeout(() => {
      if (this.closed) return;
      this.listen(url).catch((error: unknown) => {
        this.log.debug({ err: (error as Error).message, retryInMs: Math.min(delayMs * 2, RELISTEN_MAX_MS) }, 'event listener could not connect; trying again');
        this.relisten(url, Math.min(delayMs * 2, RELISTEN_MAX_MS));
      });
    }, delayMs).unref();
  }

  /** Whether other replicas' events arrive at once (LISTEN up), or only by the safety poll; null without PostgreSQL. */
  listenerState(): { up: boolean; detail: string } | null {
    if (!this.options.pgUrl) return null;
    if (this.listening?.up) return { up: true, detail: 'listening for other replicas\' events' };
    const since = this.listening ? ` for ${Math.round((Date.now() - this.listening.since) / 1000)} s` : '';
    return { up: false, detail: `reconnecting${since}; other replicas' events arrive by the ${Math.round((this.options.pollMs ?? 2000) / 1000)} s poll meanwhile` };
  }

  get size(): number {
    return this.subscribers.size;
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /**
   * Something was committed: deliver everything after the cursor. Calls coalesce. Events this
   * process just committed may come along: when they follow the cursor directly (they usually
   * do) they go out as they are, without reading them back; otherwise the log is read.
   */
  kick(committed: readonly LoggedEvent[] = []): void {
    if (this.closed) return;
    try {
      if (!this.pumping && this.deliverInOrder(committed)) return;
    } catch (error) {
      // Runs in the committing caller: a subscriber's failure must not fail a committed write.
      this.log.warn({ err: (error as Error).message }, 'event delivery failed; reading the log instead');
    }
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'event delivery failed; will retry'))
      .finally(() => {
        this.pumping = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Delivers events that continue the cursor without a gap; false if any did not. */
  private deliverInOrder(committed: readonly LoggedEvent[]): boolean {
    if (committed.length === 0) return false;
    for (const logged of committed) {
      const id = Number(logged.envelope.id);
      if (id <= this.cursor) continue; // already read from the log
      if (id !== this.cursor + 1) return false;
      this.deliver(logged);
    }
    return true;
  }

  private deliver({ audience, envelope }: LoggedEvent): void {
    this.cursor = Number(envelope.id);
    for (const subscriber of this.subscribers) if (isFor(audience, subscriber.user)) subscriber.send(envelope);
  }

  private async pump(): Promise<void> {
    for (;;) {
      const batch = await readEventsAfter(this.store.reader, this.cursor, 500);
      for (const logged of batch) if (Number(logged.envelope.id) > this.cursor) this.deliver(logged);
      if (batch.length < 500) return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.poll) clearInterval(this.poll);
    await this.pumping;
    await this.listener?.end().catch(() => undefined);
  }
}
