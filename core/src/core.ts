import { randomUUID } from 'node:crypto';
import type { BridgeCalls } from '@stint/contract';
import type { AccessRequest, CoreState, GrantEnv, Notice, Settings } from '@stint/contract';
import type { z } from 'zod';
import { ApiClient } from './api/client';
import { EventStream } from './api/events';
import { ExpiryClock } from './clock/expiry-clock';
import { routeEvent, upsertRequest } from './event-router';
import { GrantSync } from './grants/grant-sync';
import { silentLog, type CorePlatform, type CoreLog } from './platform';
import { readRevision } from './runtime/revision';
import { ensurePrivateDir } from './runtime/paths';
import { Session } from './session/session';
import { readSettings, updateSettings } from './settings/settings';
import { generateSshKeyPair } from './ssh/keys';
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
    this.#grants.publish(wiped > 0);
    this.clock.start();
    await this.#session.restore();
  }

  async stop(): Promise<void> {
    this.#started = false;
    this.clock.stop();
    this.#session.stop();
    await this.#goOffline();
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
      onEvent: (envelope) => routeEvent(envelope, { state: this.#state, grants: this.#grants, upsertMine: (request) => this.#upsertMine(request) }),
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
    try {
      await this.#pendingKeys.dropAll();
      await this.vault.wipeAll();
    } catch (error) {
      // Still sign out (the session ends at the IdP), but say plainly what could not be removed.
      this.#state.notice({ kind: 'error', message: `Signed out, but the keychain refused to delete some items: ${(error as Error).message}` });
    }
    this.#state.patch({ auth: { status: 'signed-out', user: null, message: null, signInUrl: null }, systems: [], myRequests: [], reviewQueue: [], connection: 'offline' });
    this.#grants.publish(true);
    await this.#session.endAtIdentityProvider(ending);
  }

  // ---- actions (the bridge and the socket call these) ------------------------------------

  async request(input: RequestInput): Promise<AccessRequest> {
    const system = this.#state.get().systems.find((s) => s.id === input.systemId) ?? (await this.#api.systems()).find((s) => s.id === input.systemId);
    let publicKey: string | undefined;
    let fingerprint: string | null = null;
    if (system?.needsPublicKey) {
      // A fresh key pair per grant; the private half never leaves this machine's keychain.
      const pair = generateSshKeyPair(`stint:${input.systemId}`);
      fingerprint = await this.#pendingKeys.file(pair.publicKey, pair.privateKey);
      publicKey = pair.publicKey;
    }
    const { request, grant } = await this.#api.createRequest(
      { systemId: input.systemId, durationSeconds: input.durationSeconds, reason: input.reason ?? '', ticket: input.ticket, breakGlass: input.breakGlass ?? false, publicKey },
      randomUUID(),
    );
    if (fingerprint) this.#pendingKeys.madeFor(fingerprint, request.id);
    this.#upsertMine(request);
    if (grant?.state === 'active') await this.#grants.store(grant);
    return request;
  }

  async review(input: { requestId: string; decision: 'approve' | 'deny'; comment?: string | undefined; durationSeconds?: number | undefined }): Promise<AccessRequest> {
    const { request } = await this.#api.review(input.requestId, { decision: input.decision, comment: input.comment, ...(input.durationSeconds ? { durationSeconds: input.durationSeconds } : {}) });
    upsertRequest(this.#state, 'reviewQueue', request);
    return request;
  }

  async cancel(requestId: string): Promise<AccessRequest> {
    const { request } = await this.#api.cancel(requestId);
    this.#upsertMine(request);
    return request;
  }

  /** Ends the grant at the server, and wipes it here at once whatever the server says. */
  async release(grantId: string): Promise<void> {
    try {
      await this.#api.release(grantId);
    } finally {
      await this.#grants.wipe(grantId, 'released');
    }
  }

  async extend(input: { grantId: string; durationSeconds: number; reason?: string | undefined; ticket?: string | undefined }): Promise<AccessRequest> {
    const { request, grant } = await this.#api.extend(input.grantId, { durationSeconds: input.durationSeconds, reason: input.reason ?? '', ...(input.ticket ? { ticket: input.ticket } : {}) });
    this.#upsertMine(request);
    if (grant && request.state === 'active') await this.#grants.store(grant, true);
    return request;
  }

  history(): Promise<AccessRequest[]> {
    return this.#api.requests('mine', 200);
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
