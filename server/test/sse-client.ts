import { StintEventEnvelope } from '@stint/contract';
import { createParser } from 'eventsource-parser';

export interface TestStream {
  events: StintEventEnvelope[];
  comments: string[];
  /** The server's "reconnect with a fresh token" events (it ends the stream after one). */
  reauthenticate: { reason: string }[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Resolves with the first received event matching, waiting up to `ms`. */
  waitFor(match: (e: StintEventEnvelope) => boolean, ms?: number): Promise<StintEventEnvelope>;
  close(): void;
}

/** A minimal SSE reader for tests: every event is checked against the contract. */
export async function openStream(url: string, token: string, lastEventId?: string): Promise<TestStream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: controller.signal,
  });
  if (response.status !== 200 || !response.body) throw new Error(`event stream answered ${response.status}: ${await response.text()}`);
  const events: StintEventEnvelope[] = [];
  const comments: string[] = [];
  const reauthenticate: { reason: string }[] = [];
  const waiters = new Set<() => void>();
  const parser = createParser({
    onEvent: (message) => {
      if (message.event === 'reauthenticate') {
        reauthenticate.push(JSON.parse(message.data) as { reason: string });
        return;
      }
      const envelope = StintEventEnvelope.parse(JSON.parse(message.data));
      if (envelope.id !== message.id) throw new Error('SSE id and envelope id differ');
      events.push(envelope);
      for (const wake of waiters) wake();
    },
    onComment: (comment) => {
      comments.push(comment);
      for (const wake of waiters) wake();
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        parser.feed(value);
      }
    } catch {
      // aborted
    }
  })();
  return {
    events,
    comments,
    reauthenticate,
    ended,
    waitFor(match, ms = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event within ${ms} ms; got ${events.map((e) => e.event.type).join(', ') || 'none'}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
