// Test-only: a web bridge on 127.0.0.1 over an offline core for each test, and the clients that knock on it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import WebSocket from 'ws';
import type { StintCore } from '../core';
import { createDispatcher } from './dispatch';
import { offlineCoreWithGrant } from './offline-core.fixture';
import { serveWebBridge, type WebBridge } from './web-bridge';

export const INDEX_HTML = '<!doctype html><title>Stint</title><script type="module" src="/app.js"></script>';
export const OUTSIDE_SECRET = 'outside-the-renderer-folder-Zq8';

// Live bindings: set anew by serveWebBridgeForEachTest's beforeEach, read by the test file that
// called it (each test file gets its own copy of this module).
let dir: string;
export let rendererDir: string;
export let core: StintCore;
export let bridge: WebBridge;
const sockets: WebSocket[] = [];

/** Registers the set-up and tear-down: a renderer folder with a secret beside it, a core and its web bridge. */
export function serveWebBridgeForEachTest(): void {
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stint-web-'));
    rendererDir = join(dir, 'renderer');
    mkdirSync(join(rendererDir, 'assets'), { recursive: true });
    writeFileSync(join(rendererDir, 'index.html'), INDEX_HTML);
    writeFileSync(join(rendererDir, 'app.js'), 'export {};\n');
    writeFileSync(join(rendererDir, 'assets', 'app.css'), 'body{}\n');
    // A sibling whose name starts with the renderer folder's: a plain prefix check would let it out.
    mkdirSync(join(dir, 'renderer-private'));
    writeFileSync(join(dir, 'renderer-private', 'secret.txt'), OUTSIDE_SECRET);
    writeFileSync(join(dir, 'secret.txt'), OUTSIDE_SECRET);

    core = await offlineCoreWithGrant(dir);
    bridge = await serveWebBridge(core, createDispatcher(core, 'bridge'), { rendererDir });
  });

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await bridge.close();
    await core.stop();
    rmSync(dir, { recursive: true, force: true });
  });
}

export const port = () => Number(new URL(bridge.origin).port);

/** Opens a WebSocket; resolves with the open socket or the HTTP status the upgrade got instead. */
export function openSocket(path: string, headers: { origin?: string; cookie?: string; host?: string } = { origin: bridge.origin }): Promise<{ ws: WebSocket; messages: unknown[] } | { status: number }> {
  return new Promise((resolve, reject) => {
    const extra: Record<string, string> = {};
    if (headers.cookie) extra.cookie = headers.cookie;
    if (headers.host) extra.host = headers.host;
    const ws = new WebSocket(`ws://127.0.0.1:${port()}${path}`, { ...(headers.origin === undefined ? {} : { origin: headers.origin }), headers: extra });
    sockets.push(ws);
    const messages: unknown[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('error', reject);
  });
}

export const codeOf = (link: string) => new URL(link).hash.replace(/^#code=/, '');

/** POST /session the way the page does (or an attacker does, with other headers). */
export async function trade(code: string, headers: Record<string, string> = { origin: bridge.origin, 'content-type': 'application/json' }) {
  const response = await fetch(`${bridge.origin}/session`, { method: 'POST', headers, body: JSON.stringify({ code }) });
  return { status: response.status, body: (await response.json()) as { home?: string; error?: string; message?: string }, cookie: response.headers.get('set-cookie') };
}

/** A session as the real page gets one: its home path and the cookie to send. */
export async function session(): Promise<{ home: string; cookie: string; setCookie: string }> {
  const traded = await trade(codeOf(bridge.link()));
  if (traded.status !== 200 || !traded.body.home || !traded.cookie) throw new Error(`no session: ${traded.status} ${JSON.stringify(traded.body)}`);
  return { home: traded.body.home, cookie: traded.cookie.split(';')[0]!, setCookie: traded.cookie };
}

export async function openBridge(): Promise<{ ws: WebSocket; messages: unknown[] }> {
  const { home, cookie } = await session();
  const opened = await openSocket(`${home}bridge`, { origin: bridge.origin, cookie });
  if ('status' in opened) throw new Error(`upgrade refused with ${opened.status}`);
  return opened;
}

export async function nextMessage(messages: unknown[], index: number, ms = 5000): Promise<unknown> {
  const deadline = Date.now() + ms;
  while (messages.length <= index) {
    if (Date.now() > deadline) throw new Error(`no message #${index} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return messages[index];
}

/** A raw HTTP request: the path goes out exactly as written (no client-side `..` clean-up). */
export function get(path: string, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: port(), path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
