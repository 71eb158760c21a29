import { randomUUID } from 'node:crypto';
import type { AccessRequest, AuditEntry, BridgeCalls, CoreState, Grant, GrantEnv, HistoryEntry, InsightsQuery, InsightsResponse, Notice, Settings } from '@stint/contract';
import type { z } from 'zod';
import { ApiClient } from './api/client';
import { EventStream } from './api/events';
import { ExpiryClock } from './clock/expiry-clock';
import { routeEvent, upsertRequest } from './event-router';
import { GrantSync } from './grants/grant-sync';
import { WaitingGrants } from './grants/waiting';
import { silentLog, type CorePlatform, type CoreLog } from './platform';
import { readRevision, refreshSeenMarker } from './runtime/revision';
import { ensurePrivateDir } from './runtime/paths';
import { Session } from './session/session';
import { readSettings, updateSettings } from './settings/settings';
import { PendingSshKeys } from './ssh/pending-keys';
import { StateHub } from './state-hub';
import { Vault } from './vault/vault';

export type { CorePlatform } from './platform';
export type RequestInput = z.input<typeof BridgeCalls.request.input>;

/**
 * The client engine: one observable state, fed by the approval API and its live events, with
 * the keychain vault and the expiry clock. Plain Node: the Electron app, `stint agent` and the
 * browser tests all run this same object. It wires parts with one job each (the session, the
 * grant sync, the event router) and holds the actions the bridge and the socket call.
 */
export class StintCore {
  readonly vault: Vault;
  readonly clock: ExpiryClock;
  readonly #log: CoreLog;
  readonly #now: () => number;
  readonly #state: StateHub;
  readonly #session: Session;
  readonly #grants: GrantSync;
  readonly #waiting: WaitingGrants;
  readonly #pendingKeys: PendingSshKeys;
  #api: ApiClient;
  #stream: EventStream | null = null;
  #started = false;

  constructor(private readonly platform: CorePlatform) {
    this.#log = platform.log ?? silentLog;
    this.#now = platform.now ?? Date.now;
    this.vault = new Vault(platform.secrets, platform.store);
    this.#pendingKeys = new PendingSshKeys(platform.secrets, platform.store);
    const settings = readSettings(platform.store);
    // The shells' change counter continues from its file, so a shell never sees it go back.
    this.#state = StateHub.signedOut(settings.serverUrl, readRevision(platform.paths), platform.notifier);
    this.#waiting = new WaitingGrants(this.#state);
    this.#api = this.#makeApi(settings.serverUrl);
    const api = () => this.#api;
    this.#session = new Session({
      api,
      vault: this.vault,
      state: this.#state,
      opener: platform.opener,
      log: this.#log,
      now: this.#now,
      goOnline: () => this.#goOnline(),
      goOffline: () => this.#goOffline(),
    });
    this.#grants = new GrantSync({
      api,
      vault: this.vault,
      pendingKeys: this.#pendingKeys,
      state: this.#state,
      paths: platform.paths,
      log: this.#log,
      now: this.#now,
      sshAgent: platform.sshAgent ?? null,
      rearm: () => this.clock.rearm(),
    });
    this.clock = new ExpiryClock({
      now: this.#now,
      reminders: () => readSettings(platform.store).remindersSeconds,
      deadlines: () => this.vault.entries().map((e) => ({ grantId: e.grantId, expiresAt: Date.parse(e.expiresAt), startsAt: Date.parse(e.startsAt) })),
      onEvent: (event) => this.#grants.onClock(event),
      manual: platform.manualClock ?? false,
      onWake: () => void this.wake(),
    });
  }

  // ---- observing ------------------------------------------------------------------------

  getState(): CoreState {
    return this.#state.get();
  }

  subscribe(listener: (state: CoreState) => void): () => void {
    return this.#state.subscribe(listener);
  }

  onNotice(listener: (notice: Notice) => void): () => void {
    return this.#state.onNotice(listener);
  }

  /** The IdP's issuer once the server named it (electron/src/security.ts, isAllowedSignInUrl). */
  get identityProviderIssuer(): string | null {
    return this.#session.issuer;
  }

  /** The one-time loopback address sign-out hands the browser, while it waits. */
  get signOutAddress(): string | null {
    return this.#session.signOutAddress;
  }

  // ---- life cycle -----------------------------------------------------------------------

  /**
   * Start-up order matters: anything already past its deadline is wiped first, before the
   * session is restored or anything is served, so a crash can never leave a credential behind.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    ensurePrivateDir(this.platform.paths.dir);
    const wiped = await this.#grants.wipeOverdue();
    this.#refreshSeenMarker(true);
    this.#grants.publish(wiped > 0);
    this.clock.start();
    await this.#session.restore();
  }

  /** The shells' seen-N marker, right for a running (or stopped) agent; see refreshSeenMarker. */
  #refreshSeenMarker(running: boolean): void {
    try {
      refreshSeenMarker(this.platform.paths, running);
    } catch (error) {
      // Not fatal: without a marker, shells read the revision file at each prompt, as they did before markers.
      this.#log.warn({ err: (error as Error).message }, 'could not refresh the shells\' revision marker');
    }
  }

  async stop(): Promise<void> {
    this.#started = false;
    this.clock.stop();
    this.#session.stop();
    await this.#goOffline();
    this.#refreshSeenMarker(false);
  }

  /**
   * After sleep (the clock saw the time jump, or the OS said so: Electron's resume): first wipe
   * whatever fell due, then reconnect the event stream at once (a connection from before the
   * sleep may be dead without knowing it, and would wait out its idle timeout), then re-read.
   */
  async wake(): Promise<void> {
    await this.clock.check();
    this.#log.info({}, 'woke from sleep; reconnecting');
    this.#stream?.reconnect();
    await this.reconcile();
  }

  /** After every (re)connect: re-read everything, so nothing that happened offline is missed. */
  async reconcile(): Promise<void> {
    try {
      const api = this.#api;
      const [systems, myRequests, reviewQueue, live] = await Promise.all([api.systems(), api.requests('mine'), api.requests('review'), api.grants({ active: true })]);
      this.#state.patch({ systems, myRequests, reviewQueue });
      this.#waiting.replace(live);
      await this.#grants.reconcile(live);
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'could not refresh state from the server');
    }
  }

  #makeApi(serverUrl: string): ApiClient {
    return new ApiClient({
      baseUrl: serverUrl,
      accessToken: () => this.#session.accessToken(),
      onUnauthorized: () => this.#session.refresh(),
      identityHeaders: () => this.#session.identityHeaders(),
      fetch: this.platform.fetch,
    });
  }

  async #goOnline(): Promise<void> {
    const user = await this.#api.me();
    this.#state.patch({ auth: { status: 'signed-in', user, message: null } });
    await this.#stream?.stop();
    this.#stream = new EventStream({
      url: `${this.#api.baseUrl}/v1/events`,
      accessToken: () => this.#session.accessToken(),
      onUnauthorized: () => this.#session.refresh(),
      identityHeaders: () => this.#session.identityHeaders(),
      onEvent: (envelope) => routeEvent(envelope, { state: this.#state, grants: this.#grants, waiting: this.#waiting, upsertMine: (request) => this.#upsertMine(request) }),
      onConnected: () => this.reconcile(),
      onStatus: (connection) => this.#state.patch({ connection }),
      onWarning: (message) => this.#log.warn({}, message),
      fetch: this.platform.fetch,
    });
    this.#stream.start();
  }

  async #goOffline(): Promise<void> {
    const stream = this.#stream;
    this.#stream = null;
    await stream?.stop();
  }

  #upsertMine(request: AccessRequest): void {
    // The key pair made for a request that never became a grant has no use left.
    if (upsertRequest(this.#state, 'myRequests', request)) void this.#pendingKeys.dropForRequest(request.id).catch(() => undefined);
  }

  // ---- session --------------------------------------------------------------------------

  signIn(): Promise<void> {
    return this.#session.signIn();
  }

  /** Ends a sign-in that is waiting for the browser. */
  cancelSignIn(): void {
    this.#session.cancelSignIn();
  }

  /** Keeps the IdP's client secret for this app in the OS keychain; the next sign-in uses it. */
  setClientSecret(secret: string): Promise<void> {
    return this.#session.setClientSecret(secret);
  }

  /** Sign-out wipes every grant credential and token from the keychain, then ends the IdP session. */
  async signOut(): Promise<void> {
    await this.#goOffline();
    await this.#grants.endAllForSignOut(this.#session.hasTokens);
    const ending = await this.#session.takeForSignOut();
    await this.#grants.forgetAll();
    this.#state.patch({ auth: { status: 'signed-out', user: null, message: null, signInUrl: null }, systems: [], myRequests: [], reviewQueue: [], waiting: [], connection: 'offline' });
    this.#grants.publish(true);
    await this.#session.endAtIdentityProvider(ending);
  }

  // ---- actions (the bridge and the socket call these) ------------------------------------

  async request(input: RequestInput): Promise<AccessRequest> {
    const system = this.#state.get().systems.find((s) => s.id === input.systemId) ?? (await this.#api.systems()).find((s) => s.id === input.systemId);
    const key = system?.needsPublicKey ? await this.#pendingKeys.make(`stint:${input.systemId}`) : null;
    const reply = await this.#api.createRequest(
      { systemId: input.systemId, durationSeconds: input.durationSeconds, reason: input.reason ?? '', ticket: input.ticket, breakGlass: input.breakGlass ?? false, publicKey: key?.publicKey, startAt: input.startAt },
      randomUUID(),
    );
    if (key) this.#pendingKeys.madeFor(key.fingerprint, reply.request.id);
    return this.#took(reply);
  }

  /** Starts a waiting grant now: the countdown begins, and the credential comes as for any approval. */
  async startGrant(grantId: string): Promise<AccessRequest> {
    const reply = await this.#api.start(grantId);
    this.#waiting.drop(grantId);
    return this.#took(reply);
  }

  /** A request (and grant) the server answered with: listed, and the credential stored or the grant set waiting. */
  async #took({ request, grant }: { request: AccessRequest; grant?: Grant | null | undefined }, replace = false): Promise<AccessRequest> {
    this.#upsertMine(request);
    if (grant?.state === 'active') await this.#grants.store(grant, replace);
    if (grant?.state === 'ready') this.#waiting.add(grant);
    return request;
  }

  async review(input: { requestId: string; decision: 'approve' | 'deny'; comment?: string | undefined; durationSeconds?: number | undefined }): Promise<AccessRequest> {
    const { request } = await this.#api.review(input.requestId, { decision: input.decision, comment: input.comment, ...(input.durationSeconds ? { durationSeconds: input.durationSeconds } : {}) });
    upsertRequest(this.#state, 'reviewQueue', request);
    return request;
  }

  async cancel(requestId: string): Promise<AccessRequest> {
    return this.#took(await this.#api.cancel(requestId));
  }

  /** Ends the grant at the server (a waiting one too), and wipes it here at once whatever the server says. */
  async release(grantId: string): Promise<void> {
    try {
      await this.#api.release(grantId);
    } finally {
      this.#waiting.drop(grantId);
      await this.#grants.wipe(grantId, 'released');
    }
  }

  async extend(input: { grantId: string; durationSeconds: number; reason?: string | undefined; ticket?: string | undefined }): Promise<AccessRequest> {
    const reply = await this.#api.extend(input.grantId, { durationSeconds: input.durationSeconds, reason: input.reason ?? '', ...(input.ticket ? { ticket: input.ticket } : {}) });
    return this.#took(reply.request.state === 'active' ? reply : { request: reply.request }, true);
  }

  /** The person's requests, each with the times of its grant (from their grants list, to say how much of it was used). */
  async history(): Promise<HistoryEntry[]> {
    const [requests, grants] = await Promise.all([this.#api.requests('mine', 200), this.#api.grants({ limit: 500 })]);
    const byId = new Map(grants.map((g) => [g.id, g]));
    return requests.map((request) => {
      const grant = request.grantId ? byId.get(request.grantId) : undefined;
      return { ...request, grant: grant ? { state: grant.state, startsAt: grant.startsAt, expiresAt: grant.expiresAt, endedAt: grant.endedAt, endReason: grant.endReason } : null };
    });
  }

  /** Auditors and admins only: the server refuses anyone else, and its refusal is passed on as it is. */
  insights(query: InsightsQuery): Promise<InsightsResponse> {
    return this.#api.insights(query);
  }

  auditRows(seqs: readonly number[]): Promise<AuditEntry[]> {
    return this.#api.auditRows(seqs);
  }

  getSettings(): Settings {
    return readSettings(this.platform.store);
  }

  async updateSettings(patch: unknown): Promise<Settings> {
    const before = readSettings(this.platform.store);
    const after = updateSettings(this.platform.store, patch);
    if (after.serverUrl !== before.serverUrl) {
      // Another server is another trust domain: leave the old one cleanly first.
      if (this.#state.get().auth.status === 'signed-in') await this.signOut();
      this.#api = this.#makeApi(after.serverUrl);
      this.#session.forgetIdentityProvider();
      this.#state.patch({ serverUrl: after.serverUrl });
    }
    this.clock.rearm();
    return after;
  }

  /** Secrets for `stint env` / `stint exec`: only over the local socket, never the UI bridge. */
  env(systems: readonly string[]): Promise<{ grants: GrantEnv[] }> {
    return this.#grants.env(systems);
  }
}
