import {
  ApiError as ApiErrorBody,
  AuditResponse,
  ClientConfigResponse,
  CredentialResponse,
  GrantResponse,
  GrantsResponse,
  MeResponse,
  RequestResponse,
  RequestsResponse,
  InsightsResponse,
  SystemsResponse,
  type CreateRequestBody,
  type ExtendBody,
  type InsightsQuery,
  type ReviewBody,
} from '@stint/contract';
import type { z } from 'zod';

/** A refusal or failure from the approval server, with the server's own message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  /** The current access token, or null when signed out. */
  accessToken: () => Promise<string | null>;
  /** Called once on a 401; returns true when a fresh token is now available (refresh worked). */
  onUnauthorized?: () => Promise<boolean>;
  /** Headers that go with the access token (the ID token, where the server reads claims from it). */
  identityHeaders?: () => Record<string, string>;
  fetch?: typeof fetch;
  /** Delays between retries of safe calls (and of idempotent creation). */
  retryDelaysMs?: number[];
  timeoutMs?: number;
}

const RETRYABLE = new Set([502, 503, 504]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The typed client for the approval API. Every response is validated against the contract, so
 * a server that answers something unexpected is an error here, not a crash later.
 */
export class ApiClient {
  private readonly fetch: typeof fetch;
  constructor(private readonly options: ApiClientOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  get baseUrl(): string {
    return this.options.baseUrl.replace(/\/$/, '');
  }

  private async send<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    init: { body?: unknown; headers?: Record<string, string>; retry?: boolean; auth?: boolean } = {},
  ): Promise<z.output<S>> {
    const delays = init.retry ? (this.options.retryDelaysMs ?? [200, 800, 2000]) : [];
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        const token = init.auth === false ? null : await this.options.accessToken();
        if (init.auth !== false && !token) throw new ApiError(401, 'signed_out', 'You are not signed in to Stint; sign in first.');
        response = await this.fetch(`${this.baseUrl}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(token ? { authorization: `Bearer ${token}`, ...this.options.identityHeaders?.() } : {}),
            ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...init.headers,
          },
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
        });
      } catch (error) {
        if (error instanceof ApiError) throw error;
        if (attempt < delays.length) {
          await sleep(delays[attempt]!);
          continue;
        }
        throw new ApiError(0, 'unreachable', `Cannot reach the Stint server at ${this.baseUrl} (${(error as Error).message}); check your connection or the server URL in settings.`);
      }
      if (response.status === 401 && !refreshed && init.auth !== false && this.options.onUnauthorized) {
        refreshed = true;
        if (await this.options.onUnauthorized()) {
          attempt--;
          continue;
        }
      }
      if (RETRYABLE.has(response.status) && attempt < delays.length) {
        await sleep(delays[attempt]!);
        continue;
      }
      const text = await response.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (!response.ok) {
        const body = ApiErrorBody.safeParse(json);
        throw body.success
          ? new ApiError(response.status, body.data.error, body.data.message)
          : new ApiError(response.status, 'http_error', `The Stint server answered ${response.status} to ${method} ${path}; try again, or tell your admin if it persists.`);
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new ApiError(response.status, 'bad_response', `The Stint server sent an answer this app does not understand for ${method} ${path}; update Stint or tell your admin.`);
      }
      return parsed.data;
    }
  }

  clientConfig() {
    return this.send('GET', '/v1/client-config', ClientConfigResponse, { retry: true, auth: false });
  }
  me() {
    return this.send('GET', '/v1/me', MeResponse, { retry: true });
  }
  async systems() {
    return (await this.send('GET', '/v1/systems', SystemsResponse, { retry: true })).systems;
  }
  /** Safe to retry: the Idempotency-Key makes a repeated create return the first result. */
  createRequest(body: CreateRequestBody, idempotencyKey: string = crypto.randomUUID()) {
    return this.send('POST', '/v1/requests', RequestResponse, { body, headers: { 'idempotency-key': idempotencyKey }, retry: true });
  }
  async requests(scope: 'mine' | 'review' | 'all', limit = 100) {
    return (await this.send('GET', `/v1/requests?scope=${scope}&limit=${limit}`, RequestsResponse, { retry: true })).requests;
  }
  review(id: string, body: ReviewBody) {
    return this.send('POST', `/v1/requests/${encodeURIComponent(id)}/reviews`, RequestResponse, { body });
  }
  cancel(id: string) {
    return this.send('POST', `/v1/requests/${encodeURIComponent(id)}/cancel`, RequestResponse);
  }
  async grants(options: { active?: boolean; limit?: number } = {}) {
    const active = options.active === undefined ? '' : `&active=${options.active}`;
    const limit = options.limit === undefined ? '' : `&limit=${options.limit}`;
    return (await this.send('GET', `/v1/grants?scope=mine${active}${limit}`, GrantsResponse, { retry: true })).grants;
  }
  async credential(grantId: string) {
    return (await this.send('GET', `/v1/grants/${encodeURIComponent(grantId)}/credential`, CredentialResponse, { retry: true })).credential;
  }
  async release(grantId: string) {
    return (await this.send('POST', `/v1/grants/${encodeURIComponent(grantId)}/release`, GrantResponse)).grant;
  }
  /** Starts a waiting grant: its countdown begins now and the server issues the credential. */
  start(grantId: string) {
    return this.send('POST', `/v1/grants/${encodeURIComponent(grantId)}/start`, RequestResponse);
  }
  extend(grantId: string, body: ExtendBody) {
    return this.send('POST', `/v1/grants/${encodeURIComponent(grantId)}/extend`, RequestResponse, { body });
  }
  /** Figures from the audit log; the server answers auditors and admins only (403 not_an_auditor). */
  insights(query: InsightsQuery) {
    const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    const search = params.size > 0 ? `?${params}` : '';
    return this.send('GET', `/v1/insights${search}`, InsightsResponse, { retry: true });
  }
  /** The audit rows with these sequence numbers (at most 50), oldest first. */
  async auditRows(seqs: readonly number[]) {
    return (await this.send('GET', `/v1/audit?seqs=${seqs.join(',')}`, AuditResponse, { retry: true })).entries;
  }
}
