import { connect, type Socket } from 'node:net';
import { BridgeReply, SocketCalls, type BridgeError, type SocketMethod } from '@stint/contract';
import type { z } from 'zod';

/** A failure a person can act on; `exit` is the documented exit code (see README). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exit: number,
    readonly code = 'failed',
  ) {
    super(message);
  }
}

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, refused: 4, noAgent: 5, signedOut: 6, timeout: 7, unsafeRuntime: 8 } as const;

const exitFor = (error: BridgeError) => {
  if (error.code === 'signed_out' || error.code === 'unauthorized') return EXIT.signedOut;
  if (/not_found|no_grant/.test(error.code)) return EXIT.notFound;
  if (/^(own_request|not_an_approver|not_a_requester|duration_too_long|reason_required|ticket_required|break_glass_not_allowed|not_pending|already_reviewed|invalid_input|public_key_invalid|grant_not_active)$/.test(error.code)) return EXIT.refused;
  return EXIT.failed;
};

/** One connection to the app's (or `stint agent`'s) local socket. */
export class SocketClient {
  private constructor(
    private readonly socket: Socket,
    private readonly pending: Map<number, (reply: z.infer<typeof BridgeReply>) => void>,
  ) {}
  private nextId = 1;

  static connect(path: string): Promise<SocketClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      const pending = new Map<number, (reply: z.infer<typeof BridgeReply>) => void>();
      socket.once('connect', () => resolve(new SocketClient(socket, pending)));
      socket.once('error', () =>
        reject(new CliError(`Stint is not running (nothing answers on ${path}). Start the Stint app, or run \`stint agent &\`.`, EXIT.noAgent, 'no_agent')),
      );
      let buffer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
          const line = buffer.slice(0, i);
          buffer = buffer.slice(i + 1);
          let message: unknown;
          try {
            message = JSON.parse(line);
          } catch {
            continue; // not ours (a stray write on the socket): the call it belongs to times out or closes
          }
          const reply = BridgeReply.safeParse(message);
          if (reply.success) pending.get(reply.data.id)?.(reply.data);
        }
      });
      socket.on('close', () => {
        for (const resolveReply of pending.values()) resolveReply({ id: 0, ok: false, error: { code: 'disconnected', message: 'Stint closed the connection; is it still running?' } });
      });
    });
  }

  async call<M extends SocketMethod>(method: M, input: z.input<(typeof SocketCalls)[M]['input']>): Promise<z.output<(typeof SocketCalls)[M]['output']>> {
    const id = this.nextId++;
    const reply = await new Promise<z.infer<typeof BridgeReply>>((resolve) => {
      this.pending.set(id, resolve);
      this.socket.write(`${JSON.stringify({ id, method, input })}\n`);
    });
    this.pending.delete(id);
    if (!reply.ok) throw new CliError(reply.error.message, exitFor(reply.error), reply.error.code);
    return SocketCalls[method].output.parse(reply.result) as z.output<(typeof SocketCalls)[M]['output']>;
  }

  close(): void {
    this.socket.end();
  }
}
