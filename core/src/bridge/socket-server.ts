import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { BridgeRequest } from '@stint/contract';
import type { CoreLog } from '../platform';
import { ensurePrivateDir } from '../runtime/paths';
import type { Dispatch } from './dispatch';

const MAX_LINE_BYTES = 1024 * 1024;

/** Is something already answering on this socket path? */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * The local socket for the CLI and shell hooks: newline-delimited JSON, one reply per request.
 * The socket is 0600 inside a 0700 folder, so only this user can connect: it can hand out
 * credentials (`env`), which is why it is not a TCP port.
 */
export async function serveSocket(path: string, dispatch: Dispatch, log: CoreLog): Promise<{ close(): Promise<void> }> {
  if (process.platform !== 'win32') {
    // The folder is what keeps other users out; make sure of it however this is called.
    ensurePrivateDir(dirname(path));
    if (existsSync(path)) {
      if (await isLive(path)) throw new Error(`Another Stint (app or \`stint agent\`) is already running on ${path}; use that one or stop it first.`);
      if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket; move it away and start Stint again.`);
      unlinkSync(path); // a stale socket from a crash
    }
  }
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (Buffer.byteLength(buffer) > MAX_LINE_BYTES) {
        socket.end(`${JSON.stringify({ id: 0, ok: false, error: { code: 'too_large', message: 'A request line may be at most 1 MiB.' } })}\n`);
        return;
      }
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) void answer(socket, line);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });

  async function answer(socket: Socket, line: string) {
    let request;
    try {
      request = BridgeRequest.parse(JSON.parse(line));
    } catch {
      socket.write(`${JSON.stringify({ id: 0, ok: false, error: { code: 'bad_request', message: 'Each line must be JSON {"id", "method", "input"}.' } })}\n`);
      return;
    }
    const reply = await dispatch(request.method, request.input);
    if (!reply.ok) log.warn({ method: request.method, code: reply.error.code }, 'socket call refused');
    if (!socket.destroyed) socket.write(`${JSON.stringify({ id: request.id, ...reply })}\n`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  if (process.platform !== 'win32') chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
