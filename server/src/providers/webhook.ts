import { createHmac, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { isAbsolute, resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { z } from 'zod';
import { CredentialEnvName, CredentialEnvValue } from '@stint/contract';
import { readSecret } from '../config/load';
import { SecretRef } from '../config/schema';
import { ProviderRefusal, type IssueInput, type IssuedCredential, type Provider, type ProviderFactory, type RevokeInput } from './provider';

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

/**
 * Endpoints must be https: the request asks for a credential and the answer carries it, so
 * plain http would hand both to anyone on the path. There is no loopback exception either;
 * tests run a local HTTPS receiver instead. Userinfo is refused because config files are not
 * secret stores and a URL is quoted in errors; the fragment is never sent, so it is a mistake.
 */
const HttpsUrl = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL; give an https:// URL' });
    return;
  }
  if (url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `must be an https:// URL (got ${url.protocol}//): the call carries a credential` });
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not carry a user or password; the request is authenticated by its signature (secret)' });
  if (url.hash) ctx.addIssue({ code: 'custom', message: 'must not have a #fragment' });
});

/** RFC 9110 token characters. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Set by the provider itself; letting config override them would break signing or framing. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'transfer-encoding', 'host', 'connection', 'idempotency-key', 'user-agent', 'expect']);
/** The settings live in a plain config file; a credential there would leak with it. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

const ExtraHeaders = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'not a valid header name' });
    else if (RESERVED_HEADERS.has(lower) || lower.startsWith('stint-')) ctx.addIssue({ code: 'custom', path: [name], message: 'set by Stint itself; it cannot be overridden' });
    else if (CREDENTIAL_HEADERS.has(lower)) ctx.addIssue({ code: 'custom', path: [name], message: 'headers are for non-secret values (they sit in the config file); requests are authenticated by the HMAC signature made with `secret`' });
    // CR/LF would let a config value smuggle extra headers or a second request (header injection).
    if (/[\r\n\0]/.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: 'a header value cannot contain CR, LF or NUL' });
  }
});

export const MAX_ISSUE_RETRIES = 5;

export const WebhookSettings = z.strictObject({
  /** Called when a grant starts; answers with the credential. */
  issueUrl: HttpsUrl,
  /** Called when a grant ends (expiry, release, admin revoke, failed issue); retried until it answers 2xx. */
  revokeUrl: HttpsUrl,
  /** Called when an extension is approved; without it the deadline moves in Stint only. */
  extendUrl: HttpsUrl.optional(),
  /** HMAC-SHA256 key for the `stint-signature` header; named, never inline. */
  secret: z.union(SecretRef.options, { error: 'give { env: NAME } or { file: PATH }; the secret itself is never written in the config' }),
  /** PEM bundle trusted in addition to the built-in CAs, for receivers behind an internal CA. */
  caFile: z.string().min(1).optional(),
  /** Per attempt: connect, TLS, request and the whole answer. */
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  /** Extra attempts for issue and extend on network errors, timeouts, 408, 429 and 5xx. */
  issueRetries: z.number().int().min(0).max(MAX_ISSUE_RETRIES).default(2),
  /** Non-secret extra headers, e.g. a routing hint for an API gateway. */
  headers: ExtraHeaders.optional(),
});
export type WebhookSettings = z.output<typeof WebhookSettings>;

/** A short secret could be brute-forced offline from one captured request and its signature. */
export const MIN_SECRET_LENGTH = 32;

// ---------------------------------------------------------------------------------------------
// Wire payloads (documented in docs/webhook-provider.md; webhook.schema.json is generated from these)
// ---------------------------------------------------------------------------------------------

/** The size of an answer Stint reads; more is refused so a broken receiver cannot exhaust memory. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

const Iso = z.iso.datetime().describe('ISO 8601 UTC timestamp');
const SystemRef = z.looseObject({
  id: z.string().describe('The system id in the Stint configuration'),
  name: z.string(),
});
const User = z.looseObject({
  sub: z.string().describe("The user's stable subject at the identity provider"),
  login: z.string().describe("The user's login name: the IdP's login claim (identity.claims.login), or sub when it sends none"),
  name: z.string().nullable(),
  email: z.string().nullable(),
  groups: z.array(z.string()).describe("The user's groups at the time of the request"),
});
const GrantId = z.uuid().describe('The grant; stable across retries and the key to store what you issued under');
const State = z.record(z.string(), z.unknown()).describe('What your issue (or extend) answer returned as `state`, exactly');

export const IssueRequest = z
  .looseObject({
    action: z.literal('issue'),
    grantId: GrantId,
    requestId: z.uuid().describe('The access request that was approved'),
    system: SystemRef,
    user: User,
    startsAt: Iso,
    expiresAt: Iso.describe('The deadline: make the credential stop working then on its own if you can'),
  })
  .meta({ title: 'IssueRequest', description: 'POST to issueUrl when a grant starts. Answer 2xx with a CredentialResponse.' });

export const RevokeRequest = z
  .looseObject({
    action: z.literal('revoke'),
    grantId: GrantId,
    system: SystemRef,
    state: State.describe('What issue (or the last extend) returned as `state`; {} when issue failed or never answered'),
    reason: z.enum(['expired', 'released', 'revoked', 'failed']).describe('expired: deadline; released: the user ended it; revoked: an admin ended it; failed: issue failed and anything half-made must go'),
  })
  .meta({ title: 'RevokeRequest', description: 'POST to revokeUrl when a grant ends. Answer 2xx once the access is gone, also when it was already gone or never existed.' });

export const ExtendRequest = z
  .looseObject({
    action: z.literal('extend'),
    grantId: GrantId,
    requestId: z.uuid().describe('The approved extension request (one grant can be extended several times)'),
    system: SystemRef,
    user: User,
    expiresAt: Iso.describe('The new deadline'),
    state: State,
  })
  .meta({ title: 'ExtendRequest', description: 'POST to extendUrl when an extension is approved. Answer 2xx with a CredentialResponse holding the full credential.' });

export const CredentialResponse = z
  .strictObject({
    fields: z.record(z.string(), z.string()).describe('Named values shown to the user (host, user name, password...)'),
    env: z
      .record(CredentialEnvName, CredentialEnvValue)
      .describe("Environment variables for the user's shells and `stint exec`"),
    state: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('What you need at revoke time (account id, key id...). NOT SECRET: Stint stores it in clear and sends it back. On extend, omit it to keep the current state.'),
  })
  .meta({ title: 'CredentialResponse', description: 'The 2xx JSON answer to issue and extend. Unknown keys are refused.' });

/** The JSON Schema document of every payload, as checked in to webhook.schema.json. */
export function webhookJsonSchema(): Record<string, unknown> {
  const defs: Record<string, [z.ZodType, 'input' | 'output']> = {
    IssueRequest: [IssueRequest, 'output'],
    RevokeRequest: [RevokeRequest, 'output'],
    ExtendRequest: [ExtendRequest, 'output'],
    // Receivers write this one, so optional keys are optional.
    CredentialResponse: [CredentialResponse, 'input'],
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Stint webhook provider payloads',
    description: 'Generated from server/src/providers/webhook.ts by its test; see docs/webhook-provider.md.',
    $defs: Object.fromEntries(
      Object.entries(defs).map(([name, [schema, io]]) => {
        const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12' });
        return [name, rest];
      }),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

/**
 * `v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. The timestamp is inside the MAC so
 * a captured request cannot be replayed later with a fresh timestamp (receivers refuse old ones).
 */
export function signWebhook(secret: string, timestamp: string, rawBody: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

type Action = 'issue' | 'revoke' | 'extend';

/** A failed call; `retryable` says whether another attempt could succeed. */
export class WebhookError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

/** Short and quoted only after an error answer: never the body of a 2xx, which may hold a credential. */
const snippet = (text: string) => {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is flattened (log/terminal injection)
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
};

/** Errors quote origin and path only: a query string may carry a token someone put there. */
const where = (url: URL) => `${url.origin}${url.pathname}`;

/** Retry delays after attempt 1, 2, ...: quick first, a few seconds at most (somebody is waiting). */
export const retryDelayMs = (attempt: number) => Math.min(4000, 250 * 4 ** Math.max(0, attempt - 1));

/** Revoke gets one quick retry here; the sweeper owns the long, unbounded backoff. */
export const REVOKE_QUICK_RETRIES = 1;

const CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_/;
const TLS_ERROR = /SSL|TLS|EPROTO/;

function describeNetworkError(error: NodeJS.ErrnoException): WebhookError {
  const code = error.code ?? '';
  // Never retried or bypassed: an untrusted certificate can mean someone else is answering.
  if (CERT_ERROR.test(code)) return new WebhookError(`TLS: the receiver's certificate is not trusted (${code}); if an internal CA signed it, set caFile`, false);
  if (TLS_ERROR.test(code)) return new WebhookError(`TLS: the handshake failed (${code}); is the receiver serving HTTPS on that port?`, false);
  return new WebhookError(`network error: ${code || error.message}`, true);
}

interface Answer {
  status: number;
  statusText: string;
  body: string;
}

export interface WebhookProviderOptions {
  /** Where a relative secret file or caFile is resolved; the working directory by default. */
  baseDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Waits between retries (tests may shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

/** Builds a webhook provider; throws with the bad setting's name (the registry adds the system). */
export function createWebhookProvider(settings: unknown, options: WebhookProviderOptions = {}): Provider {
  const parsed = WebhookSettings.safeParse(settings);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(settings)'}: ${i.message}`).join('; '));
  }
  const config = parsed.data;
  const baseDir = options.baseDir ?? process.cwd();
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const secret = readSecret(config.secret, 'secret', baseDir, options.env ?? process.env);
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`secret: too short (${secret.length} characters); use at least ${MIN_SECRET_LENGTH}, e.g. \`openssl rand -hex 32\``);
  }
  const ca = config.caFile ? [...rootCertificates, ...readCaFile(config.caFile, baseDir)] : undefined;
  // One pool per system: keep-alive saves a TLS handshake per call when the sweeper revokes in bursts.
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ...(ca ? { ca } : {}) });
  const urls = {
    issue: new URL(config.issueUrl),
    revoke: new URL(config.revokeUrl),
    extend: config.extendUrl ? new URL(config.extendUrl) : null,
  };

  function post(url: URL, headers: Record<string, string>, body: string): Promise<Answer> {
    return new Promise((resolvePost, rejectPost) => {
      const req = request(url, { method: 'POST', agent, headers });
      // One deadline for connect, TLS, request and the whole answer: a receiver that trickles
      // bytes cannot hold the caller (an approver's HTTP call, or the sweeper) past it.
      const timer = setTimeout(() => {
        finish(new WebhookError(`no complete answer within ${config.timeoutMs} ms (timeoutMs)`, true));
        req.destroy();
      }, config.timeoutMs);
      let settled = false;
      function finish(error: WebhookError | null, answer?: Answer) {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) rejectPost(error);
        else resolvePost(answer!);
      }
      req.on('error', (error) => finish(describeNetworkError(error)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            finish(new WebhookError(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`, false));
            req.destroy();
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error) => finish(describeNetworkError(error)));
        res.on('end', () => finish(null, { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: Buffer.concat(chunks).toString('utf8') }));
        res.on('close', () => finish(new WebhookError('network error: the connection closed before the answer was complete', true)));
      });
      req.end(body);
    });
  }

  /** One signed call, retried on what could pass; the same idempotency key on every attempt. */
  async function deliver(action: Action, url: URL, payload: Record<string, unknown>, idempotencyKey: string, retries: number): Promise<Answer> {
    const body = JSON.stringify(payload);
    let attempt = 0;
    for (;;) {
      attempt += 1;
      // Signed per attempt: a retry minutes later still carries a fresh timestamp.
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = {
        ...config.headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'stint-server webhook provider',
        'stint-timestamp': timestamp,
        'stint-signature': signWebhook(secret, timestamp, body),
        'stint-delivery': randomUUID(),
        'idempotency-key': idempotencyKey,
      };
      let failure: WebhookError;
      try {
        const answer = await post(url, headers, body);
        if (answer.status >= 200 && answer.status < 300) return answer;
        // Redirects are not followed: the signed request would go to a host nobody configured.
        const retryable = answer.status === 408 || answer.status === 429 || answer.status >= 500;
        const text = snippet(answer.body);
        failure = new WebhookError(`the receiver answered ${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}${text ? `: ${text}` : ''}`, retryable, answer.status);
      } catch (error) {
        failure = error instanceof WebhookError ? error : new WebhookError(String(error), false);
      }
      if (!failure.retryable || attempt > retries) {
        const tries = attempt > 1 ? ` (after ${attempt} attempts)` : '';
        // Still retryable when the attempts ran out: the server may try again later.
        throw new WebhookError(`webhook ${action} to ${where(url)}: ${failure.message}${tries}`, failure.retryable, failure.status);
      }
      await sleep(retryDelayMs(attempt));
    }
  }

  /** Reads an issue or extend answer; the error says what is wrong without quoting values. */
  function readCredential(action: Action, url: URL, answer: Answer, previousState: Record<string, unknown>): IssuedCredential {
    let json: unknown;
    try {
      json = JSON.parse(answer.body);
    } catch {
      // JSON.parse's own message quotes the text, which could be a credential.
      throw new WebhookError(`webhook ${action} to ${where(url)}: the receiver answered ${answer.status} but the body is not JSON`, false);
    }
    const result = CredentialResponse.safeParse(json);
    if (!result.success) {
      const problems = result.error.issues.map((i) => {
        const nested = i.code === 'invalid_key' ? i.issues[0]?.message : undefined;
        return `${i.path.map(String).join('.') || '(body)'}: ${nested ?? i.message}`;
      });
      throw new WebhookError(`webhook ${action} to ${where(url)}: the answer is not a valid credential response (see docs/webhook-provider.md): ${problems.slice(0, 5).join('; ')}`, false);
    }
    return { fields: result.data.fields, env: result.data.env, state: result.data.state ?? previousState };
  }

  const iso = (ms: number) => new Date(ms).toISOString();
  const systemOf = (input: { system: IssueInput['system'] }) => ({ id: input.system.id, name: input.system.name });
  const userOf = (input: IssueInput) => ({ sub: input.user.sub, login: input.user.login, name: input.user.name, email: input.user.email, groups: input.user.groups });

  const provider: Provider = {
    async close() {
      agent.destroy();
    },
    type: 'webhook',
    needsPublicKey: false,
    async issue(input) {
      const payload: z.input<typeof IssueRequest> = {
        action: 'issue',
        grantId: input.grantId,
        requestId: input.requestId,
        system: systemOf(input),
        user: userOf(input),
        startsAt: iso(input.startsAt),
        expiresAt: iso(input.expiresAt),
      };
      try {
        const answer = await deliver('issue', urls.issue, payload, `${input.grantId}:issue`, config.issueRetries);
        return readCredential('issue', urls.issue, answer, {});
      } catch (error) {
        // A 4xx, an answer that is no credential, an untrusted certificate: the receiver's (or
        // its setup's) own "no", which no retry gets past. Network errors and 5xx stay errors.
        if (error instanceof WebhookError && !error.retryable) throw new ProviderRefusal(error.message);
        throw error;
      }
    },
    async revoke(input: RevokeInput) {
      const payload: z.input<typeof RevokeRequest> = {
        action: 'revoke',
        grantId: input.grantId,
        system: systemOf(input),
        state: input.state,
        reason: input.reason,
      };
      await deliver('revoke', urls.revoke, payload, `${input.grantId}:revoke`, REVOKE_QUICK_RETRIES);
    },
  };
  const extendUrl = urls.extend;
  if (extendUrl) {
    provider.extend = async (input) => {
      const payload: z.input<typeof ExtendRequest> = {
        action: 'extend',
        grantId: input.grantId,
        requestId: input.requestId,
        system: systemOf(input),
        user: userOf(input),
        expiresAt: iso(input.expiresAt),
        state: input.state,
      };
      // The extension request is part of the key: a grant extended twice is two operations.
      const answer = await deliver('extend', extendUrl, payload, `${input.grantId}:extend:${input.requestId}`, config.issueRetries);
      return readCredential('extend', extendUrl, answer, input.state);
    };
  }
  return provider;
}

function readCaFile(file: string, baseDir: string): string[] {
  const path = isAbsolute(file) ? file : resolve(baseDir, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`caFile: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new Error(`caFile: ${path} holds no PEM certificate`);
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch {
      throw new Error(`caFile: ${path} holds a certificate that cannot be parsed`);
    }
  }
  return pems;
}

/** The registry's factory: `provider: { type: webhook, settings: {...} }`. */
export const webhookProvider: ProviderFactory = (system) => createWebhookProvider(system.provider.settings);
