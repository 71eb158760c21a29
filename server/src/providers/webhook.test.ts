import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { SystemConfig } from '../config/schema';
import { ProviderRefusal, ProviderRegistry, type IssueInput, type Provider } from './provider';
import {
  CredentialResponse,
  ExtendRequest,
  IssueRequest,
  RevokeRequest,
  createWebhookProvider,
  signWebhook,
  webhookJsonSchema,
  webhookProvider,
  type WebhookProviderOptions,
} from './webhook';
import { MINUTE, startHarness, type Harness } from '../../test/harness';

const SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
const SECRET_ENV = 'STINT_WEBHOOK_TEST_SECRET';
const DOCS = new URL('../../../docs/webhook-provider.md', import.meta.url);

type Verify = (input: { secrets: string | string[]; timestamp: unknown; signature: unknown; rawBody: Buffer | string; now?: number }) => boolean;

const dir = mkdtempSync(join(tmpdir(), 'stint-webhook-'));
let certFile = '';
let keyFile = '';
/** The verification code integrators copy, taken from the docs themselves: if it is wrong, these tests fail. */
let verifyStintSignature: Verify;

beforeAll(async () => {
  keyFile = join(dir, 'key.pem');
  certFile = join(dir, 'cert.pem');
  // A throwaway self-signed certificate for 127.0.0.1, valid for one day.
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'pipe' });

  const docs = readFileSync(DOCS, 'utf8');
  const code = /<!-- verify-example -->\s*```js\n([\s\S]+?)```/.exec(docs)?.[1];
  if (!code) throw new Error('docs/webhook-provider.md has no <!-- verify-example --> block');
  const module = join(dir, 'stint-verify.mjs');
  writeFileSync(module, code);
  verifyStintSignature = ((await import(pathToFileURL(module).href)) as { verifyStintSignature: Verify }).verifyStintSignature;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// A receiver, as an integrator would write it from the docs
// ---------------------------------------------------------------------------------------------

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: any;
  verified: boolean;
  /** Whether the body matched the documented schema of its action. */
  schemaOk: boolean;
  status: number;
}

type Mode = 'ok' | '503' | 'hang' | 'close';
type Reply = { status: number; body?: string; headers?: Record<string, string> };

const schemaFor: Record<string, z.ZodType> = { '/issue': IssueRequest, '/revoke': RevokeRequest, '/extend': ExtendRequest };

async function startReceiver(secret = SECRET) {
  const state = {
    mode: 'ok' as Mode,
    /** Fail this many calls with 503 before answering normally. */
    failNext: 0,
    /** Replaces the normal answer of an issue/extend (bad answers, error bodies...). */
    reply: null as ((d: Delivery) => Reply) | null,
    deliveries: [] as Delivery[],
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const verified = verifyStintSignature({ secrets: secret, timestamp: req.headers['stint-timestamp'], signature: req.headers['stint-signature'], rawBody: raw });
      let body: any = null;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        // recorded as null
      }
      const path = req.url ?? '';
      const delivery: Delivery = { path, headers: req.headers, raw, body, verified, schemaOk: schemaFor[path]?.safeParse(body).success ?? false, status: 0 };
      state.deliveries.push(delivery);
      const send = ({ status, body: text = '', headers = {} }: Reply) => {
        delivery.status = status;
        res.writeHead(status, headers).end(text);
      };
      if (state.mode === 'hang') return;
      if (state.mode === 'close') return req.socket.destroy();
      if (state.mode === '503' || state.failNext > 0) {
        state.failNext = Math.max(0, state.failNext - 1);
        return send({ status: 503, body: 'receiver is down for maintenance' });
      }
      if (!verified) return send({ status: 401, body: 'bad signature' });
      if (state.reply && path !== '/revoke') return send(state.reply(delivery));
      const json = { 'content-type': 'application/json' };
      if (path === '/issue') {
        return send({ status: 200, headers: json, body: JSON.stringify({
          fields: { username: `jit-${body.user.sub}`, token: `tok-${body.grantId}` },
          env: { EXT_TOOL_TOKEN: `tok-${body.grantId}` },
          state: { accountId: `acct-${body.grantId.slice(0, 8)}` },
        }) });
      }
      if (path === '/extend') {
        return send({ status: 200, headers: json, body: JSON.stringify({ fields: { token: `tok2-${body.grantId}` }, env: { EXT_TOOL_TOKEN: `tok2-${body.grantId}` } }) });
      }
      if (path === '/revoke') return send({ status: 204 });
      send({ status: 404 });
    });
  });
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  const base = `https://127.0.0.1:${port}`;
  return {
    state,
    base,
    for: (grantId: string, path?: string) => state.deliveries.filter((d) => d.body?.grantId === grantId && (!path || d.path === path)),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => receiver?.close());
afterEach(() => {
  receiver.state.mode = 'ok';
  receiver.state.failNext = 0;
  receiver.state.reply = null;
});

const settingsFor = (r: Receiver, extra: Record<string, unknown> = {}) => ({
  issueUrl: `${r.base}/issue`,
  revokeUrl: `${r.base}/revoke`,
  extendUrl: `${r.base}/extend`,
  secret: { env: SECRET_ENV },
  caFile: certFile,
  ...extra,
});

function makeProvider(extra: Record<string, unknown> = {}, options: WebhookProviderOptions = {}): Provider {
  return createWebhookProvider(settingsFor(receiver, extra), { env: { [SECRET_ENV]: SECRET }, ...options });
}

const system = SystemConfig.parse({
  id: 'ext-tool',
  name: 'External tool',
  provider: { type: 'webhook', settings: {} },
  durations: { presets: ['15m'], max: '1h' },
  requesters: ['engineering'],
  approvers: ['sre-leads'],
});

function issueInput(): IssueInput {
  const now = Date.now();
  return {
    grantId: randomUUID(),
    requestId: randomUUID(),
    system,
    user: { sub: 'alice', login: 'alice', name: 'Alice Adams', email: 'alice@stint.example', groups: ['engineering'] },
    startsAt: now,
    expiresAt: now + 15 * MINUTE,
    publicKey: null,
  };
}

const noSleep = (record: number[]) => ({ sleep: async (ms: number) => void record.push(ms) });

// ---------------------------------------------------------------------------------------------

describe('webhook provider: issue', () => {
  it('posts a signed issue call and returns the receiver\'s credential', async () => {
    const provider = makeProvider({ headers: { 'x-tenant': 'platform' } });
    const input = issueInput();
    const before = Math.floor(Date.now() / 1000);
    const issued = await provider.issue(input);

    expect(issued).toEqual({
      fields: { username: 'jit-alice', token: `tok-${input.grantId}` },
      env: { EXT_TOOL_TOKEN: `tok-${input.grantId}` },
      state: { accountId: `acct-${input.grantId.slice(0, 8)}` },
    });
    const [delivery, ...more] = receiver.for(input.grantId);
    expect(more).toHaveLength(0);
    expect(delivery).toMatchObject({ path: '/issue', verified: true, schemaOk: true, status: 200 });
    expect(delivery!.headers).toMatchObject({
      'content-type': 'application/json',
      'idempotency-key': `${input.grantId}:issue`,
      'x-tenant': 'platform',
      'stint-signature': expect.stringMatching(/^v1=[0-9a-f]{64}$/),
      'stint-delivery': expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(Number(delivery!.headers['stint-timestamp'])).toBeGreaterThanOrEqual(before);
    expect(Number(delivery!.headers['stint-timestamp'])).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(delivery!.body).toEqual({
      action: 'issue',
      grantId: input.grantId,
      requestId: input.requestId,
      system: { id: 'ext-tool', name: 'External tool' },
      user: { sub: 'alice', login: 'alice', name: 'Alice Adams', email: 'alice@stint.example', groups: ['engineering'] },
      startsAt: new Date(input.startsAt).toISOString(),
      expiresAt: new Date(input.expiresAt).toISOString(),
    });
  });

  it('signs body and timestamp together, so tampering with either (or replaying late) fails verification', async () => {
    const provider = makeProvider();
    const input = issueInput();
    await provider.issue(input);
    const d = receiver.for(input.grantId)[0]!;
    const timestamp = d.headers['stint-timestamp'] as string;
    const signature = d.headers['stint-signature'] as string;
    const check = (over: Partial<Parameters<Verify>[0]>) => verifyStintSignature({ secrets: SECRET, timestamp, signature, rawBody: d.raw, ...over });

    expect(check({})).toBe(true);
    expect(signature).toBe(signWebhook(SECRET, timestamp, d.raw.toString('utf8')));
    const tampered = Buffer.from(d.raw.toString('utf8').replace('"alice"', '"mallory"'));
    expect(tampered.equals(d.raw)).toBe(false);
    expect(check({ rawBody: tampered })).toBe(false);
    expect(check({ timestamp: String(Number(timestamp) + 1) })).toBe(false);
    expect(check({ secrets: 'another-secret-0123456789abcdef0123456789' })).toBe(false);
    expect(check({ secrets: ['old-secret-while-rotating-0123456789abcd', SECRET] })).toBe(true);
    // A correctly signed request captured more than five minutes ago is refused as a replay.
    expect(check({ now: (Number(timestamp) + 301) * 1000 })).toBe(false);
    expect(check({ now: (Number(timestamp) + 299) * 1000 })).toBe(true);
    expect(check({ signature: undefined })).toBe(false);
  });

  it('is refused by a receiver that holds a different secret, and does not retry a 4xx', async () => {
    const other = await startReceiver('receiver-has-another-secret-0123456789abcdef');
    try {
      const provider = createWebhookProvider(settingsFor(other), { env: { [SECRET_ENV]: SECRET } });
      const input = issueInput();
      const error = await provider.issue(input).then(() => null, (e: Error) => e);
      expect(error?.message).toMatch(/^webhook issue to https:\/\/127\.0\.0\.1:\d+\/issue: the receiver answered 401 Unauthorized: bad signature$/);
      expect(error?.message).not.toContain(SECRET);
      expect(error).toBeInstanceOf(ProviderRefusal); // the receiver's own no: the grant ends, with this reason
      expect(other.for(input.grantId)).toMatchObject([{ verified: false, status: 401 }]);
    } finally {
      await other.close();
    }
  });

  it('refuses a self-signed receiver when caFile does not trust it (no silent skip of verification)', async () => {
    const provider = makeProvider({ caFile: undefined });
    const input = issueInput();
    await expect(provider.issue(input)).rejects.toThrow(/TLS: the receiver's certificate is not trusted \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\); if an internal CA signed it, set caFile$/);
    expect(receiver.for(input.grantId)).toHaveLength(0);
  });

  it('gives up after timeoutMs when the receiver hangs', async () => {
    receiver.state.mode = 'hang';
    const provider = makeProvider({ timeoutMs: 300, issueRetries: 0 });
    const input = issueInput();
    const started = performance.now();
    await expect(provider.issue(input)).rejects.toThrow(/: no complete answer within 300 ms \(timeoutMs\)$/);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    expect(receiver.for(input.grantId)).toHaveLength(1);
  });

  it('retries 5xx with backoff and the same idempotency key, then succeeds', async () => {
    receiver.state.failNext = 2;
    const sleeps: number[] = [];
    const provider = makeProvider({}, noSleep(sleeps));
    const input = issueInput();
    const issued = await provider.issue(input);
    expect(issued.env.EXT_TOOL_TOKEN).toBe(`tok-${input.grantId}`);
    const deliveries = receiver.for(input.grantId);
    expect(deliveries.map((d) => d.status)).toEqual([503, 503, 200]);
    expect(new Set(deliveries.map((d) => d.headers['idempotency-key']))).toEqual(new Set([`${input.grantId}:issue`]));
    expect(new Set(deliveries.map((d) => d.headers['stint-delivery'])).size).toBe(3);
    expect(sleeps).toEqual([250, 1000]);
  });

  it('stops after issueRetries and says how often it tried', async () => {
    receiver.state.mode = '503';
    const provider = makeProvider({ issueRetries: 1 }, noSleep([]));
    const input = issueInput();
    const error = await provider.issue(input).then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/answered 503 Service Unavailable: receiver is down for maintenance \(after 2 attempts\)$/);
    expect(error).not.toBeInstanceOf(ProviderRefusal); // down, not a no: the server tries again later
    expect(receiver.for(input.grantId)).toHaveLength(2);
  });

  it('retries when the receiver closes the connection', async () => {
    receiver.state.mode = 'close';
    const provider = makeProvider({ issueRetries: 2 }, noSleep([]));
    const input = issueInput();
    await expect(provider.issue(input)).rejects.toThrow(/network error: .*\(after 3 attempts\)$/);
    expect(receiver.for(input.grantId)).toHaveLength(3);
  });

  it('quotes at most 200 characters of an error body, and never the body of a 2xx', async () => {
    const provider = makeProvider();
    receiver.state.reply = () => ({ status: 400, body: `${'x'.repeat(300)} TAIL-MARKER` });
    const error = await provider.issue(issueInput()).then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/answered 400 Bad Request: x{200}…$/);
    expect(error?.message).not.toContain('TAIL-MARKER');

    receiver.state.reply = () => ({ status: 200, body: 'password=hunter2 not json' });
    const notJson = await provider.issue(issueInput()).then(() => null, (e: Error) => e);
    expect(notJson?.message).toMatch(/answered 200 but the body is not JSON$/);
    expect(notJson?.message).not.toContain('hunter2');
  });

  it('refuses a malformed credential answer with a message naming the problem, not the values', async () => {
    const provider = makeProvider();
    receiver.state.reply = () => ({ status: 200, body: JSON.stringify({ fields: { password: 'hunter2' }, env: { lower: 'hunter2', LD_PRELOAD: '/tmp/x.so', PATH: '/tmp', OK: 'hunter2' }, envs: {} }) });
    const error = await provider.issue(issueInput()).then(() => null, (e: Error) => e);
    expect(error?.message).toContain('the answer is not a valid credential response');
    expect(error?.message).toMatch(/env\.lower: an upper-case environment variable name/);
    expect(error?.message).toMatch(/env\.LD_PRELOAD: /);
    expect(error?.message).toMatch(/env\.PATH: /);
    expect(error?.message).toMatch(/Unrecognized key: "envs"/);
    expect(error?.message).not.toContain('hunter2');
    expect(error?.message).not.toContain('/tmp');

    receiver.state.reply = () => ({ status: 200, body: JSON.stringify({ fields: {} }) });
    await expect(provider.issue(issueInput())).rejects.toThrow(/env: Invalid input: expected record, received undefined/);

    receiver.state.reply = () => ({ status: 200, body: JSON.stringify({ fields: {}, env: {}, state: {}, pad: 'y'.repeat(70_000) }) });
    await expect(provider.issue(issueInput())).rejects.toThrow(/the answer is larger than 65536 bytes$/);

    receiver.state.reply = () => ({ status: 302, headers: { location: 'https://elsewhere.example/' } });
    await expect(provider.issue(issueInput())).rejects.toThrow(/answered 302 Found$/);
  });

  it('accepts an answer without state (state defaults to {})', async () => {
    receiver.state.reply = () => ({ status: 201, body: JSON.stringify({ fields: {}, env: {} }) });
    expect(await makeProvider().issue(issueInput())).toEqual({ fields: {}, env: {}, state: {} });
  });
});

describe('webhook provider: revoke and extend', () => {
  it('revokes with the stored state and the reason, once', async () => {
    const provider = makeProvider();
    const grantId = randomUUID();
    await provider.revoke({ grantId, system, state: { accountId: 'acct-1' }, reason: 'released' });
    expect(receiver.for(grantId)).toMatchObject([{
      path: '/revoke', verified: true, schemaOk: true, status: 204,
      headers: { 'idempotency-key': `${grantId}:revoke` },
      body: { action: 'revoke', grantId, system: { id: 'ext-tool', name: 'External tool' }, state: { accountId: 'acct-1' }, reason: 'released' },
    }]);
  });

  it('makes one quick retry on a failing revoke, then throws for the sweeper to retry', async () => {
    receiver.state.mode = '503';
    const sleeps: number[] = [];
    const provider = makeProvider({ issueRetries: 5 }, noSleep(sleeps));
    const grantId = randomUUID();
    await expect(provider.revoke({ grantId, system, state: {}, reason: 'failed' })).rejects.toThrow(/^webhook revoke to .*\/revoke: the receiver answered 503 .*\(after 2 attempts\)$/);
    expect(receiver.for(grantId)).toHaveLength(2);
    expect(sleeps).toEqual([250]);
  });

  it('extends with a key per extension request and keeps the state when the answer leaves it out', async () => {
    const provider = makeProvider();
    expect(provider.extend).toBeTypeOf('function');
    const input = issueInput();
    const first = await provider.extend!({ ...input, state: { accountId: 'acct-9' } });
    const second = await provider.extend!({ ...input, requestId: randomUUID(), state: { accountId: 'acct-9' } });
    expect(first).toEqual({ fields: { token: `tok2-${input.grantId}` }, env: { EXT_TOOL_TOKEN: `tok2-${input.grantId}` }, state: { accountId: 'acct-9' } });
    expect(second.state).toEqual({ accountId: 'acct-9' });
    const deliveries = receiver.for(input.grantId, '/extend');
    expect(deliveries.map((d) => d.headers['idempotency-key'])).toEqual([`${input.grantId}:extend:${input.requestId}`, expect.stringMatching(new RegExp(`^${input.grantId}:extend:[0-9a-f-]{36}$`))]);
    expect(deliveries.every((d) => d.verified && d.schemaOk)).toBe(true);
    expect(deliveries[0]!.body).toMatchObject({ action: 'extend', requestId: input.requestId, expiresAt: new Date(input.expiresAt).toISOString(), state: { accountId: 'acct-9' } });

    expect(makeProvider({ extendUrl: undefined }).extend).toBeUndefined();
  });
});

describe('webhook provider: settings', () => {
  const refused = (settings: Record<string, unknown>, env: NodeJS.ProcessEnv = { [SECRET_ENV]: SECRET }) => {
    try {
      createWebhookProvider(settings, { env });
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('the settings were accepted');
  };
  const good = () => settingsFor(receiver);

  it('refuses http:// and URLs with credentials, naming the setting', () => {
    expect(refused({ ...good(), issueUrl: 'http://127.0.0.1:8080/issue' })).toBe('issueUrl: must be an https:// URL (got http://): the call carries a credential');
    expect(refused({ ...good(), revokeUrl: 'http://localhost/revoke' })).toMatch(/^revokeUrl: must be an https:\/\/ URL/);
    expect(refused({ ...good(), extendUrl: 'https://user:pw@example.com/x' })).toMatch(/^extendUrl: must not carry a user or password/);
    expect(refused({ ...good(), issueUrl: 'not a url' })).toBe('issueUrl: not a URL; give an https:// URL');
  });

  it('refuses a missing, inline or short secret, naming the setting but never the value', () => {
    expect(refused(good(), {})).toBe(`secret: the environment variable ${SECRET_ENV} is not set`);
    expect(refused({ ...good(), secret: 'inline-secret-value' })).toMatch(/^secret: give \{ env: NAME \} or \{ file: PATH \}/);
    expect(refused({ ...good(), secret: 'inline-secret-value' })).not.toContain('inline-secret-value');
    expect(refused(good(), { [SECRET_ENV]: 'short-secret' })).toMatch(/^secret: too short \(12 characters\); use at least 32/);
    expect(refused({ ...good(), secret: { file: join(dir, 'missing.secret') } })).toMatch(/^secret: cannot read the secret file .*missing\.secret \(ENOENT\)$/);
  });

  it('refuses bad limits, unknown keys, credential headers and an unreadable caFile', () => {
    expect(refused({ ...good(), timeoutMs: 120_000 })).toMatch(/^timeoutMs: Too big/);
    expect(refused({ ...good(), issueRetries: 9 })).toMatch(/^issueRetries: Too big/);
    expect(refused({ ...good(), retries: 1 })).toMatch(/Unrecognized key: "retries"/);
    expect(refused({ ...good(), headers: { Authorization: 'Bearer abc' } })).toMatch(/^headers\.Authorization: headers are for non-secret values/);
    expect(refused({ ...good(), headers: { 'stint-signature': 'v1=0' } })).toMatch(/^headers\.stint-signature: set by Stint itself/);
    expect(refused({ ...good(), headers: { 'x-a': 'b\r\nx-evil: 1' } })).toMatch(/^headers\.x-a: a header value cannot contain CR, LF or NUL/);
    expect(refused({ ...good(), caFile: join(dir, 'nope.pem') })).toMatch(/^caFile: cannot read .*nope\.pem \(ENOENT\)$/);
    expect(refused({ ...good(), caFile: keyFile })).toMatch(/^caFile: .*key\.pem holds no PEM certificate$/);
    const { revokeUrl: _omit, ...noRevoke } = good();
    expect(refused(noRevoke)).toMatch(/^revokeUrl: /);
  });

  it('reports through the registry with the system id, so boot refuses a bad config', () => {
    const bad = SystemConfig.parse({ ...system, provider: { type: 'webhook', settings: { ...good(), issueUrl: 'http://example.com/' } } });
    const registry = new ProviderRegistry().register('webhook', webhookProvider);
    expect(() => registry.configure([bad])).toThrow('systems.ext-tool.provider.settings: issueUrl: must be an https:// URL');
  });
});

describe('webhook provider: documents cannot drift', () => {
  it('webhook.schema.json is generated from the zod schemas (update with vitest -u)', async () => {
    await expect(`${JSON.stringify(webhookJsonSchema(), null, 2)}\n`).toMatchFileSnapshot('./webhook.schema.json');
  });

  it('the README carries the same JSON Schema an integrator builds against', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const copy = /<!-- webhook-schema -->\s*```json\n([\s\S]+?)```/.exec(readme)?.[1];
    expect(copy).toBe(`${JSON.stringify(webhookJsonSchema(), null, 2)}\n`);
  });

  it('every example in docs/webhook-provider.md matches its schema', () => {
    const docs = readFileSync(DOCS, 'utf8');
    const schemas: Record<string, z.ZodType> = { IssueRequest, RevokeRequest, ExtendRequest, CredentialResponse };
    const examples = [...docs.matchAll(/<!-- example: (\w+) -->\s*```json\n([\s\S]+?)```/g)];
    expect(examples.map((m) => m[1]).sort()).toEqual(Object.keys(schemas).sort());
    for (const [, name, json] of examples) {
      const result = schemas[name!]!.safeParse(JSON.parse(json!));
      expect(result.error?.issues, `${name} example`).toBeUndefined();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Through the real server
// ---------------------------------------------------------------------------------------------

describe('webhook provider in the real server (sqlite)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** A server with the ext-tool system behind the local receiver. */
  async function serverWithExtTool(): Promise<Harness> {
    const secretFile = join(dir, 'ext-tool.secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    return startHarness({
      engine: 'sqlite',
      providers: { webhook: webhookProvider },
      config: (c) => ({
        ...c,
        systems: [
          ...c.systems,
          SystemConfig.parse({
            id: 'ext-tool',
            name: 'External tool',
            description: 'An internal admin tool behind the webhook provider.',
            risk: 'medium',
            provider: { type: 'webhook', settings: { ...settingsFor(receiver), secret: { file: secretFile }, timeoutMs: 2000 } },
            durations: { presets: ['15m', '1h'], max: '1h' },
            requesters: ['engineering'],
            approvers: ['sre-leads'],
            approvalsRequired: 1,
            justification: 'required',
            pendingTtl: '1h',
          }),
        ],
      }),
    });
  }

  it('calls revoke at the deadline even after a reload removed the system (the retired provider is kept)', async () => {
    h = await serverWithExtTool();
    const created = await h.api('alice', 'POST', '/v1/requests', { systemId: 'ext-tool', durationSeconds: 900, reason: 'rotate a key' });
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    const grant = approved.body.grant;
    expect(grant.state).toBe('active');
    h.server.reload({ ...h.config, systems: h.config.systems.filter((s) => s.id !== 'ext-tool') });
    receiver.state.mode = 'ok';
    h.clock.advance(16 * MINUTE);
    await h.server.sweeper.runOnce();
    expect(await h.server.store.db.selectFrom('grants').selectAll().where('id', '=', grant.id).executeTakeFirstOrThrow()).toMatchObject({ state: 'ended', last_error: null });
    const revoked = receiver.for(grant.id, '/revoke').filter((d) => d.status === 204);
    expect(revoked).toEqual([expect.objectContaining({ verified: true, body: expect.objectContaining({ grantId: grant.id, reason: 'expired' }) })]);
  });

  it('issues on approval, and a revoke that fails at the deadline is retried until the receiver is back', async () => {
    h = await serverWithExtTool();
    const created = await h.api('alice', 'POST', '/v1/requests', { systemId: 'ext-tool', durationSeconds: 900, reason: 'rotate a key' });
    expect(created.status).toBe(201);
    const approved = await h.api('bob', 'POST', `/v1/requests/${created.body.request.id}/reviews`, { decision: 'approve' });
    expect(approved.body.request.state).toBe('active');
    const grant = approved.body.grant;
    expect(grant).toMatchObject({ state: 'active', systemId: 'ext-tool', envNames: ['EXT_TOOL_TOKEN'] });

    const [issue, ...moreIssues] = receiver.for(grant.id, '/issue');
    expect(moreIssues).toHaveLength(0);
    expect(issue).toMatchObject({ verified: true, schemaOk: true, status: 200, body: { grantId: grant.id, requestId: created.body.request.id, user: { sub: 'alice', groups: ['engineering'] }, expiresAt: grant.expiresAt } });
    const credential = await h.api('alice', 'GET', `/v1/grants/${grant.id}/credential`);
    expect(credential.body.credential.env).toEqual({ EXT_TOOL_TOKEN: `tok-${grant.id}` });

    // The receiver is down at the deadline.
    receiver.state.mode = '503';
    h.clock.advance(16 * MINUTE);
    await h.server.sweeper.runOnce();
    const byId = () => h!.server.store.db.selectFrom('grants').selectAll().where('id', '=', grant.id).executeTakeFirstOrThrow();
    let row = await byId();
    expect(row.state).toBe('revoking');
    expect(row.revoke_attempts).toBeGreaterThanOrEqual(1);
    expect(row.last_error).toMatch(/webhook revoke to .*answered 503/);
    expect(row.last_error).not.toContain(SECRET);
    expect((await h.api(null, 'GET', '/metrics')).body).toMatch(/stint_revoke_failures_total\{provider="webhook"\} [1-9]/);
    const failed = receiver.for(grant.id, '/revoke');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.every((d) => d.status === 503 && d.verified)).toBe(true);

    // Back up: the next sweep after the backoff finishes the revoke.
    receiver.state.mode = 'ok';
    h.clock.advance(row.next_attempt_at! - h.clock.ms);
    await h.server.sweeper.runOnce();
    row = await byId();
    expect(row).toMatchObject({ state: 'ended', revoke_count: 1, last_error: null });
    const succeeded = receiver.for(grant.id, '/revoke').filter((d) => d.status === 204);
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]).toMatchObject({ verified: true, schemaOk: true, body: { state: { accountId: `acct-${grant.id.slice(0, 8)}` }, reason: 'expired' } });
    expect(new Set(receiver.for(grant.id, '/revoke').map((d) => d.headers['idempotency-key']))).toEqual(new Set([`${grant.id}:revoke`]));
  });
});

describe('webhook provider timing (informational)', () => {
  it('median issue and revoke against the local receiver', async () => {
    const provider = makeProvider();
    const issue: number[] = [];
    const revoke: number[] = [];
    for (let i = 0; i < 10; i++) {
      const input = issueInput();
      let t = performance.now();
      const issued = await provider.issue(input);
      issue.push(performance.now() - t);
      t = performance.now();
      await provider.revoke({ grantId: input.grantId, system, state: issued.state, reason: 'expired' });
      revoke.push(performance.now() - t);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`[webhook timing] issue median ${median(issue).toFixed(1)} ms (first ${issue[0]!.toFixed(1)} ms), revoke median ${median(revoke).toFixed(1)} ms over ${issue.length} runs`);
    expect(issue).toHaveLength(10);
  });
});
