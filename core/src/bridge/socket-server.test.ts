// The local socket the CLI and shell hooks use: it can hand out credentials (`env`), so it must
// be reachable by this user only, must not be hijacked from a running Stint, must survive a
// crash's leftovers, and must keep serving whatever a client sends down it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreState } from '@stint/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StintCore } from '../core';
import { silentLog } from '../platform';
import { ensurePrivateDir, runtimePaths } from '../runtime/paths';
import { MemoryStore } from '../settings/store';
import { MemorySecretStore } from '../vault/secret-store';
import { createDispatcher, type Dispatch } from './dispatch';
import { serveSocket } from './socket-server';

type Line = { id: number; ok: boolean; result?: any; error?: { code: string; message: string } };

/** A CLI-like client: writes raw text, reads one JSON reply per line. */
class LineClient {
  readonly socket: Socket;
  readonly ended: Promise<void>;
  private buffer = '';
  private readonly lines: Line[] = [];
  private readonly waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
        this.lines.push(JSON.parse(this.buffer.slice(0, i)) as Line);
        this.buffer = this.buffer.slice(i + 1);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static open(path: string): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  call(id: number, method: string, input: unknown = {}): void {
    this.write(`${JSON.stringify({ id, method, input })}\n`);
  }

  /** Waits for `count` replies in total (since connect) and returns them all. */
  async replies(count: number, ms = 5000): Promise<Line[]> {
    const deadline = Date.now() + ms;
    while (this.lines.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.lines.length} of ${count} replies within ${ms} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.lines.slice(0, count);
  }

  close(): void {
    this.socket.destroy();
  }
}

let dir: string;
let path: string;
let core: StintCore;
const closers: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stint-socket-'));
  const paths = runtimePaths({ STINT_RUNTIME_DIR: join(dir, 'run') });
  path = paths.socket;
  core = new StintCore({
    opener: { open: () => Promise.reject(new Error('these tests never sign in')) },
    secrets: new MemorySecretStore(),
    store: new MemoryStore(),
    paths,
    manualClock: true,
  });
  ensurePrivateDir(paths.dir);
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await core.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(dispatch: Dispatch = createDispatcher(core, 'socket')) {
  const server = await serveSocket(path, dispatch, silentLog);
  closers.push(() => server.close());
  return server;
}

async function client(): Promise<LineClient> {
  const c = await LineClient.open(path);
  closers.push(() => c.close());
  return c;
}

describe('who can reach it', () => {
  it('is a 0600 socket in a 0700 folder, even when the umask would allow everyone', async () => {
    const previous = process.umask(0o000);
    try {
      await serve();
    } finally {
      process.umask(previous);
    }
    const socket = statSync(path);
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
  });

  it('answers over the socket with the socket surface (env included)', async () => {
    await serve();
    const c = await client();
    c.call(1, 'getState');
    c.call(2, 'env', {});
    const replies = await c.replies(2);
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(byId.get(1)?.ok).toBe(true);
    expect(CoreState.safeParse(byId.get(1)?.result).success).toBe(true);
    expect(byId.get(2)).toMatchObject({ ok: true, result: { grants: [] } });
  });

  it('stops answering once closed: clients are dropped and the socket file is gone', async () => {
    const server = await serveSocket(path, createDispatcher(core, 'socket'), silentLog);
    const c = await client();
    await server.close();
    await c.ended;
    expect(existsSync(path)).toBe(false);
    await expect(LineClient.open(path)).rejects.toThrow();
  });
});

describe('one Stint per socket', () => {
  it('refuses to start over a live Stint, saying so, and leaves that one running', async () => {
    await serve();
    await expect(serveSocket(path, createDispatcher(core, 'socket'), silentLog)).rejects.toThrow(/Another Stint .* is already running/);
    const c = await client();
    c.call(7, 'getState');
    expect((await c.replies(1))[0]).toMatchObject({ id: 7, ok: true });
  });

  it('replaces a stale socket file left by a crashed process', async () => {
    // A real crash: another process listens on the path and is killed without cleaning up.
    const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`listener exited early (${code})`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(statSync(path).isSocket()).toBe(true);

    await serve();
    const c = await client();
    c.call(3, 'getState');
    expect((await c.replies(1))[0]).toMatchObject({ id: 3, ok: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

describe('what a client sends', () => {
  it('answers a malformed line with bad_request and keeps the connection usable', async () => {
    await serve();
    const c = await client();
    c.write('this is not json\n');
    c.write(`${JSON.stringify({ method: 'getState' })}\n`); // no id
    c.write(`${JSON.stringify({ id: -1, method: 'getState', input: {} })}\n`);
    const bad = await c.replies(3);
    for (const reply of bad) expect(reply).toMatchObject({ id: 0, ok: false, error: { code: 'bad_request' } });

    c.call(4, 'getState');
    expect((await c.replies(4))[3]).toMatchObject({ id: 4, ok: true });
  });

  it('passes refusals from the dispatcher back by id', async () => {
    await serve();
    const c = await client();
    c.call(5, 'format-disk');
    c.call(6, 'request', { systemId: 'orders-db', durationSeconds: 'forever' });
    const byId = new Map((await c.replies(2)).map((r) => [r.id, r]));
    expect(byId.get(5)?.error?.code).toBe('unknown_call');
    expect(byId.get(6)?.error?.code).toBe('invalid_input');
    expect(byId.get(6)?.error?.message).toContain('durationSeconds');
  });

  it('refuses a line over 1 MiB and hangs up, without calling anything', async () => {
    let called = 0;
    await serve(async () => {
      called += 1;
      return { ok: true, result: null };
    });
    const c = await client();
    c.write(`{"id":1,"method":"getState","input":{"pad":"${'x'.repeat(1024 * 1024)}"}}\n`);
    const [reply] = await c.replies(1);
    expect(reply).toMatchObject({ ok: false, error: { code: 'too_large' } });
    await c.ended;
    expect(called).toBe(0);

    // The server itself is fine and still serves others.
    const next = await client();
    next.call(2, 'getState');
    expect((await next.replies(1))[0]).toMatchObject({ id: 2, ok: true });
  });

  it('still serves a large line under 1 MiB', async () => {
    await serve();
    const c = await client();
    c.call(8, 'request', { systemId: 'orders-db', durationSeconds: 900, reason: 'r'.repeat(900 * 1024) });
    const [reply] = await c.replies(1);
    expect(reply).toMatchObject({ id: 8, ok: false, error: { code: 'invalid_input' } });
  });

  it('reassembles a request split across writes', async () => {
    await serve();
    const c = await client();
    const line = `${JSON.stringify({ id: 9, method: 'getState', input: {} })}\n`;
    c.write(line.slice(0, 10));
    await new Promise((resolve) => setTimeout(resolve, 20));
    c.write(line.slice(10));
    expect((await c.replies(1))[0]).toMatchObject({ id: 9, ok: true });
  });

  it('gives each of many pipelined requests its own reply, matched by id even when answered out of order', async () => {
    // Later requests finish first, so a server that answered by position would mismatch.
    await serve(async (method, input) => {
      const n = (input as { n: number }).n;
      await new Promise((resolve) => setTimeout(resolve, (200 - n) % 17));
      return { ok: true, result: { method, n } };
    });
    const c = await client();
    const count = 200;
    c.write(Array.from({ length: count }, (_, i) => `${JSON.stringify({ id: i + 1, method: `call${i + 1}`, input: { n: i + 1 } })}\n`).join(''));
    const replies = await c.replies(count);
    expect(replies.map((r) => r.id).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    for (const reply of replies) expect(reply.result).toEqual({ method: `call${reply.id}`, n: reply.id });
    expect(replies.map((r) => r.id)).not.toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });
});
