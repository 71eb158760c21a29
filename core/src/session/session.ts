// The signed-in session: sign-in through the browser, the tokens, their refresh (with
// rotation) and the session's end. Tokens live in memory and the refresh token in the keychain;
// nothing here touches grants (sign-out wipes them first, in core.ts).
import type { ApiClient } from '../api/client';
import { ApiError } from '../api/client';
import { OidcClient, SignInError, type BrowserOpener, type Tokens } from '../auth/oidc';
import { openSignOutPage, type SignOutPage } from '../auth/sign-out-page';
import type { CoreLog } from '../platform';
import type { StateHub } from '../state-hub';
import { KeychainError } from '../vault/secret-store';
import type { Vault } from '../vault/vault';

/** Refresh this long before the access token expires: a minute, or a quarter of a shorter token's life. */
const REFRESH_MARGIN_MS = 60_000;
const RETRY_REFRESH_MS = 30_000;

export interface SessionParts {
  api: () => ApiClient;
  vault: Vault;
  state: StateHub;
  opener: BrowserOpener;
  log: CoreLog;
  now: () => number;
  /** Tokens in hand: read who this is and open the live event stream. */
  goOnline: () => Promise<void>;
  /** The session cannot be used: close the live event stream. */
  goOffline: () => Promise<void>;
}

/** What sign-out hands the identity provider: the session's last tokens. */
export interface EndingSession {
  idToken: string | null;
  refreshToken: string | null;
}

const said = (error: unknown): string =>
  error instanceof SignInError || error instanceof ApiError || error instanceof KeychainError ? error.message : `Signing in failed (${(error as Error).message}).`;

export class Session {
  #oidc: OidcClient | null = null;
  /** The server reads groups from the ID token (client-config sendIdToken): send it with every call. */
  #sendIdToken = false;
  #tokens: Tokens | null = null;
  #refreshing: Promise<boolean> | null = null;
  #refreshMarginMs = REFRESH_MARGIN_MS;
  #refreshTimer: NodeJS.Timeout | null = null;
  #signInAbort: AbortController | null = null;
  #signOutPage: SignOutPage | null = null;

  constructor(private readonly parts: SessionParts) {}

  /** The identity provider's issuer once the server has named it (electron's isAllowedSignInUrl). */
  get issuer(): string | null {
    return this.#oidc?.issuer ?? null;
  }

  /**
   * The one-time loopback address sign-out is handing to the browser (sign-out-page.ts), while
   * it waits; the Electron shell lets exactly this plain-http address through as well.
   */
  get signOutAddress(): string | null {
    return this.#signOutPage?.url ?? null;
  }

  get hasTokens(): boolean {
    return this.#tokens !== null;
  }

  async oidcClient(): Promise<OidcClient> {
    if (this.#oidc) return this.#oidc;
    const config = await this.parts.api().clientConfig();
    let clientSecret: string | undefined;
    if (config.clientSecretRequired) {
      clientSecret = (await this.parts.vault.readClientSecret(config.issuer, config.clientId)) ?? undefined;
      if (!clientSecret) {
        throw new SignInError(
          'client_refused',
          `The identity provider wants a client secret from Stint's app, and none is kept on this computer. Ask your administrator for the secret of client ${config.clientId}, then run: stint login --client-secret-stdin`,
        );
      }
    }
    this.#sendIdToken = config.sendIdToken;
    this.#oidc = new OidcClient({
      issuer: config.issuer,
      clientId: config.clientId,
      scopes: config.scopes,
      extraAuthorizationParams: config.authorizationParams,
      redirectPorts: config.redirectPorts,
      ...(clientSecret ? { clientSecret } : {}),
    });
    return this.#oidc;
  }

  /** Keeps the IdP's client secret for this app in the OS keychain; the next sign-in uses it. */
  async setClientSecret(secret: string): Promise<void> {
    const config = await this.parts.api().clientConfig();
    await this.parts.vault.saveClientSecret(config.issuer, config.clientId, secret);
    this.#oidc = null;
  }

  /** Another server is another identity provider: forget the one learned so far. */
  forgetIdentityProvider(): void {
    this.#oidc = null;
  }

  /**
   * The ID token beside the access token, for a server that reads groups from it (its
   * client-config says sendIdToken); nothing for every other server, which has no use for it.
   */
  identityHeaders(): Record<string, string> {
    const idToken = this.#sendIdToken ? this.#tokens?.idToken : null;
    return idToken ? { 'x-stint-id-token': idToken } : {};
  }

  async accessToken(): Promise<string | null> {
    if (!this.#tokens) return null;
    if (this.#tokens.accessTokenExpiresAt - this.parts.now() < this.#refreshMarginMs) await this.refresh();
    return this.#tokens?.accessToken ?? null;
  }

  /** At start-up: the saved session, if the keychain holds one and the IdP still honours it. */
  async restore(): Promise<void> {
    let refreshToken: string | null;
    try {
      refreshToken = await this.parts.vault.readRefreshToken();
    } catch (error) {
      // No session ended: there may never have been one (a first run). The keychain is what is wrong, and the message says how to fix it.
      this.parts.log.warn({ err: (error as Error).message }, 'cannot read the saved session from the keychain');
      this.parts.state.patch({ auth: { status: 'signed-out', user: null, message: (error as Error).message } });
      return;
    }
    if (!refreshToken) return;
    if (!(await this.refresh(refreshToken))) return;
    // The server may refuse the session the IdP renewed (its settings changed, the person lost
    // access): start signed out with the reason, so sign-out and sign-in still work.
    await this.parts.goOnline().catch((error: unknown) => this.end(error, 'sign-in-needed'));
  }

  /** A session that cannot be used: tokens dropped (memory and keychain), the reason said. */
  async end(error: unknown, status: 'signed-out' | 'sign-in-needed'): Promise<void> {
    const reason = said(error);
    this.parts.log.warn({ err: reason }, 'the session cannot be used; signed out');
    this.#drop();
    await this.parts.goOffline();
    await this.parts.vault.deleteRefreshToken().catch(() => undefined);
    this.parts.state.patch({ auth: { status, user: null, message: reason, signInUrl: null }, connection: 'offline' });
  }

  /** Refresh with rotation; on failure the state says "sign-in needed" instead of erroring everywhere. */
  refresh(known?: string): Promise<boolean> {
    this.#refreshing ??= this.#refresh(known).finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh(known: string | undefined): Promise<boolean> {
    const { vault, state, log } = this.parts;
    try {
      const refreshToken = known ?? this.#tokens?.refreshToken ?? (await vault.readRefreshToken());
      if (!refreshToken) throw new SignInError('refresh_failed', 'No saved session.');
      await this.#adopt(await (await this.oidcClient()).refresh(refreshToken));
      return true;
    } catch (error) {
      const message = error instanceof SignInError || error instanceof ApiError || error instanceof KeychainError ? error.message : String(error);
      // Only a refused refresh ends the session; an unreachable IdP or server is retried and
      // the refresh token kept, so a flaky network never signs anyone out.
      const transient = (error instanceof SignInError && error.code !== 'refresh_failed') || (error instanceof ApiError && error.status === 0);
      if (transient) {
        log.warn({ err: message }, 'session refresh failed for now; retrying in 30 s');
        this.#schedule(RETRY_REFRESH_MS, async () => {
          if ((await this.refresh()) && state.get().auth.status !== 'signed-in') await this.parts.goOnline().catch(() => undefined);
        });
        state.patch({ auth: { ...state.get().auth, message: `Cannot reach sign-in right now (${message}); retrying.` } });
        return false;
      }
      this.#tokens = null;
      if (error instanceof KeychainError) {
        // Not an ended session: there may be none yet (a first run). Say what is wrong with the keychain.
        log.warn({ err: message }, 'cannot read the saved session from the keychain');
        state.patch({ auth: { status: 'signed-out', user: null, message } });
        return false;
      }
      log.warn({ err: message }, 'session refresh refused; sign-in needed');
      // An IdP that refuses the app itself needs an administrator; say so rather than "sign in again".
      const shown = error instanceof SignInError && error.code === 'client_refused' ? message : 'Your session ended; sign in again.';
      state.patch({ auth: { status: 'sign-in-needed', user: state.get().auth.user, message: shown } });
      return false;
    }
  }

  async #adopt(fresh: Tokens): Promise<void> {
    const { vault, now } = this.parts;
    // IdPs rarely send an ID token on refresh; the last one stays the end-session hint.
    const idToken = fresh.idToken ?? this.#tokens?.idToken ?? (await vault.readIdToken().catch(() => null));
    const tokens = { ...fresh, idToken };
    if (tokens.refreshToken) await vault.saveRefreshToken(tokens.refreshToken);
    if (fresh.idToken) await vault.saveIdToken(fresh.idToken);
    this.#tokens = tokens;
    // A token that lives less than four minutes (some IdPs issue 5-second ones) is refreshed at
    // three quarters of its life, not on every call.
    this.#refreshMarginMs = Math.min(REFRESH_MARGIN_MS, Math.max(0, tokens.accessTokenExpiresAt - now()) / 4);
    this.#schedule(Math.max(1_000, tokens.accessTokenExpiresAt - now() - this.#refreshMarginMs), () => void this.refresh());
  }

  #schedule(delayMs: number, run: () => unknown): void {
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(run, Math.min(delayMs, 2 ** 31 - 1));
    this.#refreshTimer.unref();
  }

  #drop(): void {
    this.#tokens = null;
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
  }

  /**
   * Signs in through the browser. Every way out ends the attempt (the state leaves
   * "signing-in", so Sign in works again): the IdP refusing, a timeout, a cancel, and the
   * server refusing the new token. A second sign-in replaces one still waiting.
   */
  async signIn(): Promise<void> {
    const { state } = this.parts;
    this.#signInAbort?.abort();
    const abort = new AbortController();
    this.#signInAbort = abort;
    state.patch({ auth: { status: 'signing-in', user: null, message: 'Finish signing in in your browser.', signInUrl: null } });
    try {
      // The session will live in the keychain: a keychain that cannot be reached is said now,
      // before the person spends a browser sign-in on it.
      await this.parts.vault.readRefreshToken();
      const tokens = await (await this.oidcClient()).signIn(this.parts.opener, {
        signal: abort.signal,
        onUrl: (signInUrl) => {
          if (this.#signInAbort === abort) state.patch({ auth: { ...state.get().auth, signInUrl } });
        },
      });
      if (abort.signal.aborted) throw new SignInError('cancelled', 'The sign-in was cancelled. Sign in again when you are ready.');
      await this.#adopt(tokens);
      await this.parts.goOnline();
    } catch (error) {
      // A newer sign-in replaced this one: it owns the state now.
      if (this.#signInAbort === abort) await this.end(error, 'signed-out');
      throw error;
    } finally {
      if (this.#signInAbort === abort) this.#signInAbort = null;
    }
  }

  /** Ends a sign-in that is waiting for the browser. */
  cancelSignIn(): void {
    this.#signInAbort?.abort();
  }

  /** Sign-out's first half: the tokens leave memory; the caller wipes the keychain, then ends the session at the IdP. */
  async takeForSignOut(): Promise<EndingSession> {
    const { vault } = this.parts;
    const ending = {
      idToken: this.#tokens?.idToken ?? (await vault.readIdToken().catch(() => null)),
      refreshToken: this.#tokens?.refreshToken ?? (await vault.readRefreshToken().catch(() => null)),
    };
    this.#drop();
    return ending;
  }

  /** Sign-out's last half: revoke the refresh token at the IdP and end its browser session. */
  async endAtIdentityProvider({ idToken, refreshToken }: EndingSession): Promise<void> {
    const { state, log, opener } = this.parts;
    const oidc = this.#oidc ?? (refreshToken ? await this.oidcClient().catch(() => null) : null);
    if (!oidc) return;
    if (refreshToken) {
      // Said as it is: a refresh token the IdP would not revoke stays valid there until it expires.
      const outcome = await oidc.revokeRefreshToken(refreshToken);
      const message = outcome.revoked
        ? 'Signed out; the identity provider revoked this sign-in.'
        : `Signed out here, but the sign-in could not be revoked at the identity provider (${outcome.reason}), so it stays valid there until it expires; the identity provider's session is ended in your browser.`;
      if (!outcome.revoked) log.warn({ reason: outcome.reason }, 'the refresh token was not revoked at the identity provider');
      state.patch({ auth: { ...state.get().auth, message } });
    }
    const endSession = await oidc.endSessionUrl(idToken).catch(() => null);
    if (!endSession) return;
    const page = await openSignOutPage(endSession);
    this.#signOutPage = page;
    void page.served.then(() => {
      if (this.#signOutPage === page) this.#signOutPage = null;
    });
    await opener.open(page.url).catch(() => page.close());
  }

  stop(): void {
    this.#signInAbort?.abort();
    this.#drop();
  }
}
