import { StintEventEnvelope } from '@stint/contract';
import { createParser } from 'eventsource-parser';

export type StreamStatus = 'connecting' | 'online' | 'offline';

export interface EventStreamOptions {
  url: string;
  accessToken: () => Promise<string | null>;
  onUnauthorized: () => Promise<boolean>;
  /** Headers that go with the access token (the ID token, where the server reads claims from it). */
  identityHeaders?: () => Record<string, string>;
  onEvent: (envelope: StintEventEnvelope) => void | Promise<void>;
  /** After every (re)connect: the caller re-reads state so nothing missed is lost. */
  onConnected: (resumed: boolean) => void | Promise<void>;
  onStatus: (status: StreamStatus) => void;
  onWarning?: (message: string) => void;
  fetch?: typeof fetch;
  /** First and largest reconnect delay; the delay doubles with jitter in between. */
  backoffMs?: { min: number; max: number };
  /** A stream silent for this long (no event, no heartbeat) is considered dead and reopened. */
  idleTimeoutMs?: number;
}

/**
 * The live event stream (server-sent events over fetch, so it can carry a bearer token). It
 * reconnects with backoff and resumes with Last-Event-ID; events are validated by the contract.
 */
export class EventStream {
  private controller: AbortController | null = null;
  private lastEventId: string | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly options: EventStreamOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.controller?.abort();
    this.wake?.();
    await this.loop;
    this.options.onStatus('offline');
  }

  /** Reconnect now (e.g. the laptop woke up or the network came back). */
  reconnect(): void {
    this.controller?.abort();
    this.wake?.();
  }

  private async run(): Promise<void> {
    const { min, max } = this.options.backoffMs ?? { min: 500, max: 30_000 };
    let delay = min;
    let refreshed = false;
    while (this.running) {
      this.options.onStatus('connecting');
      const outcome = await this.connectOnce().catch((error: unknown) => ({ kind: 'error' as const, message: (error as Error).message }));
      if (!this.running) break;
      if (outcome.kind === 'unauthorized' && !refreshed) {
        refreshed = true;
        if (await this.options.onUnauthorized()) continue;
      }
      if (outcome.kind === 'streamed') {
        delay = min;
        refreshed = false;
      }
      this.options.onStatus('offline');
      if (outcome.kind !== 'streamed') this.options.onWarning?.(`event stream: ${outcome.kind === 'error' ? outcome.message : outcome.kind}; reconnecting`);
      const wait = Math.round(delay / 2 + Math.random() * (delay / 2));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      delay = Math.min(max, delay * 2);
    }
  }

  private async connectOnce(): Promise<{ kind: 'streamed' | 'unauthorized' | 'refused' | 'error'; message?: string }> {
    const token = await this.options.accessToken();
    if (!token) return { kind: 'unauthorized' };
    const controller = new AbortController();
    this.controller = controller;
    // A stream that stays silent (no headers, no event, no heartbeat) is dead: reopen it.
    const idleMs = this.options.idleTimeoutMs ?? 45_000;
    let idle = setTimeout(() => controller.abort(), idleMs);
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), idleMs);
    };
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(this.options.url, {
        headers: { authorization: `Bearer ${token}`, ...this.options.identityHeaders?.(), accept: 'text/event-stream', ...(this.lastEventId ? { 'last-event-id': this.lastEventId } : {}) },
        signal: controller.signal,
      });
    } catch (error) {
      clearTimeout(idle);
      throw error;
    }
    if (response.status === 401 || !response.ok || !response.body) clearTimeout(idle);
    if (response.status === 401) return { kind: 'unauthorized' };
    if (!response.ok || !response.body) return { kind: 'refused', message: `server answered ${response.status}` };
    touch();
    const resumed = this.lastEventId !== null;
    this.options.onStatus('online');
    await this.options.onConnected(resumed);

    const queue: StintEventEnvelope[] = [];
    const parser = createParser({
      onEvent: (message) => {
        touch();
        // The server ends the stream when the token that opened it expires; the loop reconnects
        // with a fresh token (accessToken refreshes ahead of expiry).
        if (message.event === 'reauthenticate') return;
        try {
          const envelope = StintEventEnvelope.parse(JSON.parse(message.data));
          queue.push(envelope);
        } catch {
          this.options.onWarning?.(`event stream: ignored an event this app does not understand (${message.event ?? 'message'})`);
        }
      },
      onComment: touch,
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
        // Handle in order, and only then remember the id: a crash mid-way replays, never skips.
        for (let envelope = queue.shift(); envelope; envelope = queue.shift()) {
          await this.options.onEvent(envelope);
          this.lastEventId = envelope.id;
        }
      }
    } catch {
      // aborted (stop, reconnect, idle) or the connection dropped
    } finally {
      clearTimeout(idle);
    }
    return { kind: 'streamed' };
  }
}
