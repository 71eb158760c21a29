import { randomUUID } from 'node:crypto';
import type {
  BridgeCalls} from '@stint/contract';
import {
  type AccessRequest,
  type CoreState,
  type Grant,
  type GrantEnv,
  type LocalGrant,
  type Notice,
  type Settings,
  type StintEventEnvelope,
} from '@stint/contract';
import type { z } from 'zod';
import { ApiClient, ApiError } from './api/client';
import { EventStream } from './api/events';
import { OidcClient, SignInError, type BrowserOpener, type Tokens } from './auth/oidc';
import { openSignOutPage, type SignOutPage } from './auth/sign-out-page';
import { ExpiryClock } from './clock/expiry-clock';
import type { ClockEvent } from './clock/schedule';
import { silentLog, type CoreLog, type Notifier } from './platform';
import { publishGeneration, readGeneration } from './runtime/generation';
import { ensurePrivateDir, type RuntimePaths } from './runtime/paths';
import { readSettings, updateSettings } from './settings/settings';
import type { KeyValueStore } from './settings/store';
import { generateSshKeyPair } from './ssh/keys';
import type { SshAgent } from './ssh/agent';
import { KeychainError, type SecretStore } from './vault/secret-store';
import { Vault, type VaultEntry } from './vault/vault';

export interface CorePlatform {
  opener: BrowserOpener;
  notifier?: Notifier;
  secrets: SecretStore;
  store: KeyValueStore;
  paths: RuntimePaths;
  log?: CoreLog;
  now?: () => number;
  fetch?: typeof fetch;
  /** The ssh-agent to load SSH grant keys into, when one is running. */
  sshAgent?: SshAgent | null;
  /** Tests drive the expiry clock by hand (clock.check()). */
  manualClock?: boolean;
}

type WipeReason = Extract<Notice, { kind: 'grant-wiped' }>['reason'];
export type RequestInput = z.input<typeof BridgeCalls.request.input>;
/** How long sign-out waits for the server to end the grants it already wiped locally. */
const SIGN_OUT_RELEASE_MS = 5_000;
const PENDING_SSH_KEY = (requestId: string) => `ssh-pending:${requestId}`;
/** Refresh this long before the access token expires: a minute, or a quarter of a shorter token's life. */
const REFRESH_MARGIN_MS = 60_000;

/**
 * The client engine: one observable state, fed by the approval API and its live events, with
 * the keychain vault and the expiry clock. Plain Node: the Electron app, `stint agent` and the
 * browser tests all run this same object.
 */
export class StintCore {
  readonly vault: Vault;
  readonly clock: ExpiryClock;
  private readonly log: CoreLog;
  private readonly now: () => number;
  private state: CoreState;
  private readonly stateListeners = new Set<(state: CoreState) => void>();
  private readonly noticeListeners = new Set<(notice: Notice) => void>();
  private api: ApiClient;
  private stream: EventStream | null = null;
  private oidc: OidcClient | null = null;
  private tokens: Tokens | null = null;
  private signOutPage: SignOutPage | null = null;
  private refreshing: Promise<boolean> | null = null;
  private refreshMarginMs = REFRESH_MARGIN_MS;
  private refreshTimer: NodeJS.Timeout | null = null;
  private signInAbort: AbortController | null = null;
  private readonly storing = new Map<string, Promise<void>>();
  private readonly wiping = new Map<string, Promise<void>>();
  /** request() calls whose SSH key pair is not yet filed under the request id (see ensureStored). */
  private readonly filingSshKeys = new Set<Promise<unknown>>();
  private started = false;

  constructor(private readonly platform: CorePlatform) {
    this.log = platform.log ?? silentLog;
    this.now = platform.now ?? Date.now;
    this.vault = new Vault(platform.secrets, platform.store);
    const settings = readSettings(platform.store);
    this.state = {
      serverUrl: settings.serverUrl,
      auth: { status: 'signed-out', user: null, message: null },
      connection: 'offline',
      systems: [],
      myRequests: [],
      reviewQueue: [],
      grants: [],
      generation: 0,
    };
    this.api = this.makeApi(settings.serverUrl);
    this.clock = new ExpiryClock({
      now: this.now,
      reminders: () => readSettings(platform.store).remindersSeconds,
      deadlines: () => this.vault.entries().map((e) => ({ grantId: e.grantId, expiresAt: Date.parse(e.expiresAt), startsAt: Date.parse(e.startsAt) })),
      onEvent: (event) => this.onClock(event),
      manual: platform.manualClock ?? false,
      onWake: () => void this.wake(),
    });
  }

  // ---- observing ------------------------------------------------------------------------

  getState(): CoreState {
    return this.state;
  }

  subscribe(listener: (state: CoreState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onNotice(listener: (notice: Notice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  private setState(patch: Partial<CoreState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.stateListeners) listener(this.state);
  }

  private notice(notice: Notice): void {
    this.platform.notifier?.notify(notice);
    for (const listener of this.noticeListeners) listener(notice);
  }

  // ---- life cycle -----------------------------------------------------------------------

  /**
   * Start-up order matters: anything already past its deadline is wiped first, before the
   * session is restored or anything is served, so a crash can never leave a credential behind.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    ensurePrivateDir(this.platform.paths.dir);
    this.state = { ...this.state, generation: readGeneration(this.platform.paths) };
    const overdue = this.vault.overdue(this.now());
    for (const entry of overdue) await this.wipe(entry.grantId, 'expired');
    this.publishGrants(overdue.length > 0);
    this.clock.start();
    await this.restoreSession();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.clock.stop();
    this.signInAbort?.abort();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    await this.stream?.stop();
    this.stream = null;
  }

  private makeApi(serverUrl: string): ApiClient {
    return new ApiClient({
      baseUrl: serverUrl,
      accessToken: () => this.accessToken(),
      onUnauthorized: () => this.refreshSession(),
      fetch: this.platform.fetch,
    });
  }

  // ---- session --------------------------------------------------------------------------

  /**
   * The identity provider's issuer once the server has named it (sign-in asks for it first):
   * the Electron shell lets plain-http sign-in pages through only at a loopback issuer's own
   * origin (electron/src/security.ts, isAllowedSignInUrl).
   */
  get identityProviderIssuer(): string | null {
    return this.oidc?.issuer ?? null;
  }

  /**
   * The one-time loopback address sign-out is handing to the browser (sign-out-page.ts), while
   * it waits; the Electron shell lets exactly this plain-http address through as well.
   */
  get signOutAddress(): string | null {
    return this.signOutPage?.url ?? null;
  }

  private async oidcClient(): Promise<OidcClient> {
    if (this.oidc) return this.oidc;
    const config = await this.api.clientConfig();
    let clientSecret: string | undefined;
    if (config.clientSecretRequired) {
      clientSecret = (await this.vault.readClientSecret(config.issuer, config.clientId)) ?? undefined;
      if (!clientSecret) {
        throw new SignInError(
          'client_refused',
          `The identity provider wants a client secret from Stint's app, and none is kept on this computer. Ask your administrator for the secret of client ${config.clientId}, then run: stint login --client-secret-stdin`,
        );
      }
    }
    this.oidc = new OidcClient({
      issuer: config.issuer,
      clientId: config.clientId,
      scopes: config.scopes,
      extraAuthorizationParams: config.authorizationParams,
      redirectPorts: config.redirectPorts,
      ...(clientSecret ? { clientSecret } : {}),
    });
    return this.oidc;
  }

  /** Keeps the IdP's client secret for this app in the OS keychain; the next sign-in uses it. */
  async setClientSecret(secret: string): Promise<void> {
    const config = await this.api.clientConfig();
    await this.vault.saveClientSecret(config.issuer, config.clientId, secret);
    this.oidc = null;
  }

  private async accessToken(): Promise<string | null> {
    if (!this.tokens) return null;
    if (this.tokens.accessTokenExpiresAt - this.now() < this.refreshMarginMs) await this.refreshSession();
    return this.tokens?.accessToken ?? null;
  }

  private async restoreSession(): Promise<void> {
    let refreshToken: string | null;
    try {
      refreshToken = await this.vault.readRefreshToken();
    } catch (error) {
      // No session ended: there may never have been one (a first run). The keychain is what is wrong, and the message says how to fix it.
      this.log.warn({ err: (error as Error).message }, 'cannot read the saved session from the keychain');
      this.setState({ auth: { status: 'signed-out', user: null, message: (error as Error).message } });
      return;
    }
    if (!refreshToken) return;
    if (!(await this.refreshSession(refreshToken))) return;
    // The server may refuse the session the IdP renewed (its settings changed, the person lost
    // access): start signed out with the reason, so sign-out and sign-in still work.
    await this.goOnline().catch((error: unknown) => this.endSession(error, 'sign-in-needed'));
  }

  /** A session that cannot be used: tokens dropped (memory and keychain), the reason said. */
  private async endSession(error: unknown, status: 'signed-out' | 'sign-in-needed'): Promise<void> {
    const reason = error instanceof SignInError || error instanceof ApiError || error instanceof KeychainError ? error.message : `Signing in failed (${(error as Error).message}).`;
    this.log.warn({ err: reason }, 'the session cannot be used; signed out');
    this.tokens = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    await this.stream?.stop();
    this.stream = null;
    await this.vault.deleteRefreshToken().catch(() => undefined);
    this.setState({ auth: { status, user: null, message: reason, signInUrl: null }, connection: 'offline' });
  }

  /** Refresh with rotation; on failure the state says "sign-in needed" instead of erroring everywhere. */
  private refreshSession(known?: string): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const refreshToken = known ?? this.tokens?.refreshToken ?? (await this.vault.readRefreshToken());
        if (!refreshToken) throw new SignInError('refresh_failed', 'No saved session.');
        const tokens = await (await this.oidcClient()).refresh(refreshToken);
        await this.adoptTokens(tokens);
        return true;
      } catch (error) {
        const message = error instanceof SignInError || error instanceof ApiError || error instanceof KeychainError ? error.message : String(error);
        // Only a refused refresh ends the session; an unreachable IdP or server is retried and
        // the refresh token kept, so a flaky network never signs anyone out.
        const transient = (error instanceof SignInError && error.code !== 'refresh_failed') || (error instanceof ApiError && error.status === 0);
        if (transient) {
          this.log.warn({ err: message }, 'session refresh failed for now; retrying in 30 s');
          if (this.refreshTimer) clearTimeout(this.refreshTimer);
          this.refreshTimer = setTimeout(async () => {
            if ((await this.refreshSession()) && this.state.auth.status !== 'signed-in') await this.goOnline().catch(() => undefined);
          }, 30_000);
          this.refreshTimer.unref();
          this.setState({ auth: { ...this.state.auth, message: `Cannot reach sign-in right now (${message}); retrying.` } });
          return false;
        }
        this.tokens = null;
        if (error instanceof KeychainError) {
          // Not an ended session: there may be none yet (a first run). Say what is wrong with the keychain.
          this.log.warn({ err: message }, 'cannot read the saved session from the keychain');
          this.setState({ auth: { status: 'signed-out', user: null, message } });
          return false;
        }
        this.log.warn({ err: message }, 'session refresh refused; sign-in needed');
        // An IdP that refuses the app itself needs an administrator; say so rather than "sign in again".
        const said = error instanceof SignInError && error.code === 'client_refused' ? message : 'Your session ended; sign in again.';
        this.setState({ auth: { status: 'sign-in-needed', user: this.state.auth.user, message: said } });
        return false;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async adoptTokens(fresh: Tokens): Promise<void> {
    // IdPs rarely send an ID token on refresh; the last one stays the end-session hint.
    const idToken = fresh.idToken ?? this.tokens?.idToken ?? (await this.vault.readIdToken().catch(() => null));
    const tokens = { ...fresh, idToken };
    if (tokens.refreshToken) await this.vault.saveRefreshToken(tokens.refreshToken);
    if (fresh.idToken) await this.vault.saveIdToken(fresh.idToken);
    this.tokens = tokens;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    // A token that lives less than four minutes (some IdPs issue 5-second ones) is refreshed at
    // three quarters of its life, not on every call.
    this.refreshMarginMs = Math.min(REFRESH_MARGIN_MS, Math.max(0, tokens.accessTokenExpiresAt - this.now()) / 4);
    const due = Math.max(1_000, tokens.accessTokenExpiresAt - this.now() - this.refreshMarginMs);
    this.refreshTimer = setTimeout(() => void this.refreshSession(), Math.min(due, 2 ** 31 - 1));
    this.refreshTimer.unref();
  }

  /**
   * Signs in through the browser. Every way out ends the attempt (the state leaves
   * "signing-in", so Sign in works again): the IdP refusing, a timeout, a cancel, and the
   * server refusing the new token. A second sign-in replaces one still waiting.
   */
  async signIn(): Promise<void> {
    this.signInAbort?.abort();
    const abort = new AbortController();
    this.signInAbort = abort;
    this.setState({ auth: { status: 'signing-in', user: null, message: 'Finish signing in in your browser.', signInUrl: null } });
    try {
      // The session will live in the keychain: a keychain that cannot be reached is said now,
      // before the person spends a browser sign-in on it.
      await this.vault.readRefreshToken();
      const tokens = await (await this.oidcClient()).signIn(this.platform.opener, {
        signal: abort.signal,
        onUrl: (signInUrl) => {
          if (this.signInAbort === abort) this.setState({ auth: { ...this.state.auth, signInUrl } });
        },
      });
      if (abort.signal.aborted) throw new SignInError('cancelled', 'The sign-in was cancelled. Sign in again when you are ready.');
      await this.adoptTokens(tokens);
      await this.goOnline();
    } catch (error) {
      // A newer sign-in replaced this one: it owns the state now.
      if (this.signInAbort === abort) await this.endSession(error, 'signed-out');
      throw error;
    } finally {
      if (this.signInAbort === abort) this.signInAbort = null;
    }
  }

  /** Ends a sign-in that is waiting for the browser. */
  cancelSignIn(): void {
    this.signInAbort?.abort();
  }

  /** Sign-out wipes every grant credential and token from the keychain, then ends the IdP session. */
  async signOut(): Promise<void> {
    await this.stream?.stop();
    this.stream = null;
    const grantIds = this.vault.entries().map((entry) => entry.grantId);
    // The local wipe first: nothing waits on the network while a secret is in the keychain.
    for (const grantId of grantIds) await this.wipe(grantId, 'signed-out');
    // Signing out means "I am done": end the grants at the server too (while the session still
    // holds a token), so a copy taken from a shell stops working now, not at the deadline.
    // Best effort and bounded: offline, the deadline and the credential's own lifetime hold.
    if (this.tokens && grantIds.length > 0) {
      const released = Promise.allSettled(grantIds.map((grantId) => this.api.release(grantId).catch((error: unknown) => {
        this.log.warn({ grantId, err: (error as Error).message }, 'could not end the grant at the server while signing out; it ends at its deadline');
      })));
      await Promise.race([released, new Promise((resolve) => setTimeout(resolve, SIGN_OUT_RELEASE_MS).unref())]);
    }
    const idToken = this.tokens?.idToken ?? (await this.vault.readIdToken().catch(() => null));
    const refreshToken = this.tokens?.refreshToken ?? (await this.vault.readRefreshToken().catch(() => null));
    for (const request of this.state.myRequests) await this.platform.secrets.delete(PENDING_SSH_KEY(request.id)).catch(() => false);
    try {
      await this.vault.wipeAll();
    } catch (error) {
      // Still sign out (the session ends at the IdP), but say plainly what could not be removed.
      this.notice({ kind: 'error', message: `Signed out, but the keychain refused to delete some items: ${(error as Error).message}` });
    }
    this.tokens = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.setState({ auth: { status: 'signed-out', user: null, message: null, signInUrl: null }, systems: [], myRequests: [], reviewQueue: [], connection: 'offline' });
    this.publishGrants(true);
    const oidc = this.oidc ?? (refreshToken ? await this.oidcClient().catch(() => null) : null);
    if (oidc) {
      if (refreshToken) {
        // Said as it is: a refresh token the IdP would not revoke stays valid there until it expires.
        const outcome = await oidc.revokeRefreshToken(refreshToken);
        const message = outcome.revoked
          ? 'Signed out; the identity provider revoked this sign-in.'
          : `Signed out here, but the sign-in could not be revoked at the identity provider (${outcome.reason}), so it stays valid there until it expires; the identity provider's session is ended in your browser.`;
        if (!outcome.revoked) this.log.warn({ reason: outcome.reason }, 'the refresh token was not revoked at the identity provider');
        this.setState({ auth: { ...this.state.auth, message } });
      }
      const endSession = await oidc.endSessionUrl(idToken).catch(() => null);
      if (endSession) {
        const page = await openSignOutPage(endSession);
        this.signOutPage = page;
        void page.served.then(() => {
          if (this.signOutPage === page) this.signOutPage = null;
        });
        await this.platform.opener.open(page.url).catch(() => page.close());
      }
    }
  }

  private async goOnline(): Promise<void> {
    const user = await this.api.me();
    this.setState({ auth: { status: 'signed-in', user, message: null } });
    this.stream = new EventStream({
      url: `${this.api.baseUrl}/v1/events`,
      accessToken: () => this.accessToken(),
      onUnauthorized: () => this.refreshSession(),
      onEvent: (envelope) => this.onEvent(envelope),
      onConnected: () => this.reconcile(),
      onStatus: (connection) => this.setState({ connection }),
      onWarning: (message) => this.log.warn({}, message),
      fetch: this.platform.fetch,
    });
    this.stream.start();
  }

  /**
   * After sleep (the clock saw the time jump, or the OS said so: Electron's resume): first wipe
   * whatever fell due, then reconnect the event stream at once (a connection from before the
   * sleep may be dead without knowing it, and would wait out its idle timeout), then re-read.
   */
  async wake(): Promise<void> {
    await this.clock.check();
    this.log.info({}, 'woke from sleep; reconnecting');
    this.stream?.reconnect();
    await this.reconcile();
  }

  /** After every (re)connect: re-read everything, so nothing that happened offline is missed. */
  async reconcile(): Promise<void> {
    try {
      const [systems, myRequests, reviewQueue, active] = await Promise.all([
        this.api.systems(),
        this.api.requests('mine'),
        this.api.requests('review'),
        this.api.grants({ active: true }),
      ]);
      this.setState({ systems, myRequests, reviewQueue });
      const activeIds = new Set(active.map((g) => g.id));
      for (const entry of this.vault.entries()) if (!activeIds.has(entry.grantId)) await this.wipe(entry.grantId, 'revoked');
      for (const grant of active) if (grant.state === 'active') await this.ensureStored(grant);
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'could not refresh state from the server');
    }
  }

  // ---- live events ----------------------------------------------------------------------

  private async onEvent({ event }: StintEventEnvelope): Promise<void> {
    switch (event.type) {
      case 'review.requested':
        this.upsert('reviewQueue', event.request);
        this.notice({ kind: 'review-requested', request: event.request });
        return;
      case 'review.updated':
        this.upsert('reviewQueue', event.request);
        return;
      case 'request.updated': {
        this.upsert('myRequests', event.request);
        const kind = ({ approved: 'request-approved', denied: 'request-denied', expired: 'request-expired' } as const)[event.request.state as 'approved'];
        if (kind && !(event.request.state === 'expired' && event.request.grantId)) this.notice({ kind, request: event.request });
        return;
      }
      case 'grant.activated':
        await this.ensureStored(event.grant);
        return;
      case 'grant.extended':
        await this.ensureStored(event.grant, true);
        return;
      case 'grant.expiring':
        return; // the expiry clock reminds on the user's own schedule
      case 'grant.ended':
        await this.wipe(event.grant.id, event.grant.endReason ?? 'revoked');
        return;
    }
  }

  private upsert(list: 'myRequests' | 'reviewQueue', request: AccessRequest): void {
    if (list === 'myRequests' && ['denied', 'cancelled', 'expired', 'revoked'].includes(request.state) && !request.grantId) {
      // The key pair made for a request that never became a grant has no use left.
      void this.platform.secrets.delete(PENDING_SSH_KEY(request.id)).catch(() => false);
    }
    const others = this.state[list].filter((r) => r.id !== request.id);
    const keep = list === 'reviewQueue' ? request.state === 'pending' : true;
    const next = keep ? [request, ...others] : others;
    next.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    this.setState({ [list]: next } as Partial<CoreState>);
  }

  // ---- the vault ------------------------------------------------------------------------

  /** Fetches a grant's credential into the keychain (once, even if events race). */
  private ensureStored(grant: Grant, replace = false): Promise<void> {
    const inFlight = this.storing.get(grant.id);
    if (inFlight) return inFlight.then(() => (replace ? this.ensureStored(grant, true) : undefined));
    if (!replace && this.vault.entry(grant.id)) return Promise.resolve();
    if (Date.parse(grant.expiresAt) <= this.now()) return Promise.resolve();
    const task = (async () => {
      // An auto-approved SSH request can activate (and its event arrive) before request() has
      // filed the key pair under the request's id: wait for those filings, or the grant would
      // be stored without its private key.
      if (this.filingSshKeys.size > 0 && this.state.systems.find((s) => s.id === grant.systemId)?.needsPublicKey) await Promise.allSettled([...this.filingSshKeys]);
      const credential = await this.api.credential(grant.id);
      const previous = await this.vault.read(grant.id).catch(() => null);
      const pendingKey = previous?.sshPrivateKey ?? (await this.platform.secrets.get(PENDING_SSH_KEY(grant.requestId)).catch(() => null));
      const entry: VaultEntry = {
        grantId: grant.id,
        requestId: grant.requestId,
        systemId: grant.systemId,
        startsAt: grant.startsAt,
        expiresAt: credential.expiresAt,
        envNames: Object.keys(credential.env),
        hasSshKey: Boolean(pendingKey),
      };
      await this.vault.store(entry, {
        env: credential.env,
        fields: credential.fields,
        ...(pendingKey ? { sshPrivateKey: pendingKey, sshCertificate: credential.fields.certificate ?? '' } : {}),
      });
      if (pendingKey && !previous) await this.platform.secrets.delete(PENDING_SSH_KEY(grant.requestId)).catch(() => false);
      if (pendingKey && credential.fields.certificate) {
        await this.platform.sshAgent?.add(grant.id, pendingKey, credential.fields.certificate, Math.max(1, Math.floor((Date.parse(credential.expiresAt) - this.now()) / 1000))).catch((error: unknown) =>
          this.log.warn({ grantId: grant.id, err: (error as Error).message }, 'could not add the key to ssh-agent'));
      }
      this.publishGrants(true);
      this.clock.rearm();
      if (!replace) this.notice({ kind: 'grant-active', grant: this.localGrant(entry) });
    })()
      .catch((error: unknown) => {
        this.log.error({ grantId: grant.id, err: (error as Error).message }, 'could not store the credential in the keychain');
        // The grant is live at the server but not usable here: say so, and what to do.
        const message = error instanceof ApiError
          ? `Access to ${grant.systemId} was granted, but Stint could not fetch its credential (${error.message}). Restart Stint to try again, or release the grant.`
          : `Access to ${grant.systemId} was granted, but Stint could not put the credential in your keychain (${(error as Error).message}). Unlock your keychain and restart Stint (it fetches the credential again), or release the grant.`;
        this.notice({ kind: 'error', message });
      })
      .finally(() => this.storing.delete(grant.id));
    this.storing.set(grant.id, task);
    return task;
  }

  /**
   * The one path every ending takes (deadline, release, admin revoke, sign-out): the keychain
   * item goes, the agent key goes, shells are told, and a receipt says what was wiped.
   */
  private wipe(grantId: string, reason: WipeReason): Promise<void> {
    // The clock, the server's "ended" event and a release can all reach one grant at once:
    // one wipe, one receipt; the others wait for it. A store still in flight (the grant ended while its credential was being fetched) is let
    // finish first, so the wipe then finds and removes what it wrote.
    let wiping = this.wiping.get(grantId);
    if (!wiping) {
      const storing = this.storing.get(grantId);
      wiping = (storing ? storing.catch(() => undefined) : Promise.resolve())
        .then(() => this.wipeOnce(grantId, reason))
        .finally(() => this.wiping.delete(grantId));
      this.wiping.set(grantId, wiping);
    }
    return wiping;
  }

  private async wipeOnce(grantId: string, reason: WipeReason): Promise<void> {
    const entry = this.vault.entry(grantId);
    if (!entry) return;
    let wiped: string[];
    try {
      wiped = await this.vault.wipe(grantId);
    } catch (error) {
      // The metadata stays, so the next clock tick tries again; never report a wipe that failed.
      this.log.error({ grantId, err: (error as Error).message }, 'could not delete the credential from the keychain; retrying');
      return;
    }
    if (entry.hasSshKey && (await this.platform.sshAgent?.remove(grantId).catch(() => false))) wiped.push('its ssh-agent key');
    if (entry.envNames.length > 0) wiped.push(`shell variables ${entry.envNames.join(', ')} (unset at each shell's next prompt)`);
    this.publishGrants(true);
    this.clock.rearm();
    this.notice({ kind: 'grant-wiped', grantId, systemId: entry.systemId, reason, wiped, at: new Date(this.now()).toISOString() });
  }

  private async onClock(event: ClockEvent): Promise<void> {
    const entry = this.vault.entry(event.grantId);
    if (!entry) return;
    if (event.kind === 'deadline') {
      await this.wipe(event.grantId, 'expired');
      return;
    }
    const system = this.state.systems.find((s) => s.id === entry.systemId);
    this.notice({ kind: 'grant-reminder', grant: this.localGrant(entry), secondsLeft: event.secondsLeft, canExtend: system !== undefined });
  }

  private localGrant(entry: VaultEntry): LocalGrant {
    return {
      grantId: entry.grantId,
      requestId: entry.requestId,
      systemId: entry.systemId,
      startsAt: entry.startsAt,
      expiresAt: entry.expiresAt,
      state: 'active',
      envNames: entry.envNames,
      stored: true,
      inAgent: entry.hasSshKey && Boolean(this.platform.sshAgent),
    };
  }

  /** Mirrors the vault into the state and, when the set changed, into the shells' generation file. */
  private publishGrants(changed: boolean): void {
    const grants = this.vault.entries().map((e) => this.localGrant(e)).sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
    const generation = changed ? this.state.generation + 1 : this.state.generation;
    if (changed) {
      try {
        publishGeneration(this.platform.paths, generation, grants.map((g) => ({ systemId: g.systemId, expiresAt: Math.floor(Date.parse(g.expiresAt) / 1000) })));
      } catch (error) {
        this.log.error({ err: (error as Error).message }, 'could not write the shell generation file');
      }
    }
    this.setState({ grants, generation });
  }

  // ---- actions (the bridge and the socket call these) ------------------------------------

  async request(input: RequestInput): Promise<AccessRequest> {
    const system = this.state.systems.find((s) => s.id === input.systemId) ?? (await this.api.systems()).find((s) => s.id === input.systemId);
    const idempotencyKey = randomUUID();
    let publicKey: string | undefined;
    let pendingAccount: string | null = null;
    if (system?.needsPublicKey) {
      // A fresh key pair per grant; the private half never leaves this machine's keychain.
      const pair = generateSshKeyPair(`stint:${input.systemId}`);
      publicKey = pair.publicKey;
      pendingAccount = PENDING_SSH_KEY(idempotencyKey);
      await this.platform.secrets.set(pendingAccount, pair.privateKey);
    }
    const creating = (async () => {
      const created = await this.api.createRequest(
        { systemId: input.systemId, durationSeconds: input.durationSeconds, reason: input.reason ?? '', ticket: input.ticket, breakGlass: input.breakGlass ?? false, publicKey },
        idempotencyKey,
      );
      if (pendingAccount) {
        const key = await this.platform.secrets.get(pendingAccount);
        if (key) await this.platform.secrets.set(PENDING_SSH_KEY(created.request.id), key);
        await this.platform.secrets.delete(pendingAccount);
      }
      return created;
    })();
    if (pendingAccount) this.filingSshKeys.add(creating);
    const { request, grant } = await creating.finally(() => this.filingSshKeys.delete(creating));
    this.upsert('myRequests', request);
    if (grant?.state === 'active') await this.ensureStored(grant);
    return request;
  }

  async review(input: { requestId: string; decision: 'approve' | 'deny'; comment?: string | undefined }): Promise<AccessRequest> {
    const { request } = await this.api.review(input.requestId, { decision: input.decision, comment: input.comment });
    this.upsert('reviewQueue', request);
    return request;
  }

  async cancel(requestId: string): Promise<AccessRequest> {
    const { request } = await this.api.cancel(requestId);
    this.upsert('myRequests', request);
    return request;
  }

  /** Ends the grant at the server, and wipes it here at once whatever the server says. */
  async release(grantId: string): Promise<void> {
    try {
      await this.api.release(grantId);
    } finally {
      await this.wipe(grantId, 'released');
    }
  }

  async extend(input: { grantId: string; durationSeconds: number; reason?: string | undefined; ticket?: string | undefined }): Promise<AccessRequest> {
    const { request, grant } = await this.api.extend(input.grantId, { durationSeconds: input.durationSeconds, reason: input.reason ?? '', ...(input.ticket ? { ticket: input.ticket } : {}) });
    this.upsert('myRequests', request);
    if (grant && request.state === 'active') await this.ensureStored(grant, true);
    return request;
  }

  history(): Promise<AccessRequest[]> {
    return this.api.requests('mine', 200);
  }

  getSettings(): Settings {
    return readSettings(this.platform.store);
  }

  async updateSettings(patch: unknown): Promise<Settings> {
    const before = readSettings(this.platform.store);
    const after = updateSettings(this.platform.store, patch);
    if (after.serverUrl !== before.serverUrl) {
      // Another server is another trust domain: leave the old one cleanly first.
      if (this.state.auth.status === 'signed-in') await this.signOut();
      this.api = this.makeApi(after.serverUrl);
      this.oidc = null;
      this.setState({ serverUrl: after.serverUrl });
    }
    this.clock.rearm();
    return after;
  }

  /** Secrets for `stint env` / `stint exec`: only over the local socket, never the UI bridge. */
  async env(systems: readonly string[]): Promise<{ grants: GrantEnv[] }> {
    const now = this.now();
    const grants: GrantEnv[] = [];
    for (const entry of this.vault.entries()) {
      if (Date.parse(entry.expiresAt) <= now) continue;
      if (systems.length > 0 && !systems.includes(entry.systemId)) continue;
      const secret = await this.vault.read(entry.grantId);
      if (!secret) continue;
      grants.push({ grantId: entry.grantId, systemId: entry.systemId, expiresAt: entry.expiresAt, env: secret.env });
    }
    // What ended is the hook's to unset: it remembers what it exported (renderEnv's `previous`).
    return { grants };
  }
}
