import { connect, type Socket } from 'node:net';
import { CliError, EXIT } from './errors';

/** One reply line from the app's local socket, before anyone has checked its shape. */
export interface RawReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

/**
 * The local socket's framing (one JSON object a line, replies matched by id), with nothing
 * loaded but node:net. SocketClient checks replies with the contract's schemas; the quick
 * commands (quick.ts) check the few fields they use, to start as fast as `node` itself.
 */
export class SocketWire {
  private nextId = 1;
  private constructor(
    private readonly socket: Socket,
    private readonly pending: Map<number, (reply: unknown) => void>,
  ) {}

  static connect(path: string, isReply: (message: unknown) => message is RawReply = looksLikeReply): Promise<SocketWire> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      const pending = new Map<number, (reply: unknown) => void>();
      socket.once('connect', () => resolve(new SocketWire(socket, pending)));
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
          if (isReply(message)) pending.get(message.id)?.(message);
        }
      });
      socket.on('close', () => {
        for (const resolveReply of pending.values()) resolveReply({ id: 0, ok: false, error: { code: 'disconnected', message: 'Stint closed the connection; is it still running?' } });
      });
    });
  }

  /** Sends one call and resolves with its reply line as it came. */
  send(method: string, input: unknown): Promise<RawReply> {
    const id = this.nextId++;
    return new Promise<RawReply>((resolve) => {
      this.pending.set(id, (reply) => {
        this.pending.delete(id);
        resolve(reply as RawReply);
      });
      this.socket.write(`${JSON.stringify({ id, method, input })}\n`);
    });
  }

  close(): void {
    this.socket.end();
  }
}

function looksLikeReply(message: unknown): message is RawReply {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  if (typeof m.id !== 'number' || typeof m.ok !== 'boolean') return false;
  if (m.ok) return true;
  const e = m.error as Record<string, unknown> | undefined;
  return typeof e === 'object' && e !== null && typeof e.code === 'string' && typeof e.message === 'string';
}
