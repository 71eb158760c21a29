import type { StintEventEnvelope } from '@stint/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal';
import { isFor, readEventsAfter } from '../events/log';
import type { AppDeps } from './app';

// One event goes to every stream it concerns (an approver group may be thousands of apps):
// serialise it once, not once per stream.
const frames = new WeakMap<StintEventEnvelope, string>();
function frameOf(envelope: StintEventEnvelope): string {
  let frame = frames.get(envelope);
  if (frame === undefined) {
    frame = `id: ${envelope.id}\nevent: ${envelope.event.type}\ndata: ${JSON.stringify(envelope)}\n\n`;
    frames.set(envelope, frame);
  }
  return frame;
}

/**
 * GET /v1/events: a server-sent event stream of what concerns this user. With Last-Event-ID the
 * stream first replays what was missed from the event log, then goes live; ids never repeat.
 */
export async function streamEvents(deps: AppDeps, user: Principal, request: FastifyRequest, reply: FastifyReply, after: number | undefined) {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');

  // Once the stream has ended (a replay failed, the token expired), nothing more is written: until
  // 'close' unsubscribes it, a live event or a heartbeat would be a write after end, an 'error'
  // on the response that nothing handles, which would stop the whole server.
  const write = (chunk: string) => {
    if (!res.writableEnded) res.write(chunk);
  };
  let lastSent = after ?? -1;
  let replaying = after !== undefined;
  const held: StintEventEnvelope[] = [];
  const send = (envelope: StintEventEnvelope) => {
    const id = Number(envelope.id);
    if (id <= lastSent) return;
    lastSent = id;
    write(frameOf(envelope));
  };
  // Subscribe before replaying so nothing committed in between is lost; duplicates are skipped by id.
  const unsubscribe = deps.hub.subscribe({ user, send: (envelope) => (replaying ? held.push(envelope) : send(envelope)) });
  deps.ctx.metrics.sseClients.inc();
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), deps.sseHeartbeatMs ?? 15_000);
  // A stream lives as long as the token that opened it. Threat: an approver removed from a group,
  // or signed out, still hearing of reviews for as long as a connection stays up. At the token's
  // expiry the client is told to reconnect, and does, with a fresh token whose groups decide
  // what it hears from then on.
  const expiry =
    user.tokenExpiresAt === undefined
      ? null
      : setTimeout(
          () => res.end(`event: reauthenticate\ndata: ${JSON.stringify({ reason: 'token_expired', message: 'Your access token expired; reconnect with a fresh one.' })}\n\n`),
          Math.min(2 ** 31 - 1, Math.max(0, user.tokenExpiresAt - Date.now())),
        );
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  void closed.then(() => {
    if (expiry) clearTimeout(expiry);
    clearInterval(heartbeat);
    unsubscribe();
    deps.ctx.metrics.sseClients.dec();
  });

  if (after !== undefined) {
    try {
      for (let cursor = after; ; ) {
        const batch = await readEventsAfter(deps.ctx.store.reader, cursor, 500);
        for (const logged of batch) if (isFor(logged.audience, user)) send(logged.envelope);
        if (batch.length < 500) break;
        cursor = Number(batch.at(-1)!.envelope.id);
      }
    } catch (error) {
      request.log.warn({ err: (error as Error).message }, 'event replay failed');
      res.end();
    }
    replaying = false;
    for (const envelope of held.splice(0)) send(envelope);
  }
  await closed;
}
