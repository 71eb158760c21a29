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
export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private cursor = 0;
  private pumping: Promise<void> | null = null;
  private again = false;
  private listener: pg.Client | null = null;
  private poll: NodeJS.Timeout | null = null;
  private closed = false;

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

  private async listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on('notification', () => this.kick());
    client.on('error', (error) => {
      this.log.warn({ err: error.message }, 'event listener connection failed; reconnecting');
      this.listener = null;
      if (!this.closed) setTimeout(() => void this.listen(url).catch(() => undefined), 1000).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${PG_EVENT_CHANNEL}`);
    this.listener = client;
    this.kick();
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
