// Each grant's life on this computer, one step at a time per grant: its credential fetched
// into the keychain (and its key into ssh-agent), the shells told, and at its end the one wipe
// that removes all of it and says what was removed.
import type { Grant, GrantEnv, LocalGrant, Notice } from '@stint/contract';
import { ApiError, type ApiClient } from '../api/client';
import type { ClockEvent } from '../clock/schedule';
import type { CoreLog } from '../platform';
import { publishRevision } from '../runtime/revision';
import type { RuntimePaths } from '../runtime/paths';
import type { SshAgent } from '../ssh/agent';
import { credentialCertificate, type PendingSshKeys } from '../ssh/pending-keys';
import type { StateHub } from '../state-hub';
import type { Vault, VaultEntry } from '../vault/vault';

/** How long sign-out waits for the server to end the grants it already wiped locally. */
const SIGN_OUT_RELEASE_MS = 5_000;

export type WipeReason = Extract<Notice, { kind: 'grant-wiped' }>['reason'];

export interface GrantSyncParts {
  api: () => ApiClient;
  vault: Vault;
  pendingKeys: PendingSshKeys;
  state: StateHub;
  paths: RuntimePaths;
  log: CoreLog;
  now: () => number;
  sshAgent: SshAgent | null;
  /** The set of deadlines changed: the expiry clock re-reads it. */
  rearm: () => void;
}

export class GrantSync {
  /** In-flight work per grant: a wipe waits for a store of the same grant, never the other way. */
  readonly #storing = new Map<string, Promise<void>>();
  readonly #wiping = new Map<string, Promise<void>>();

  constructor(private readonly parts: GrantSyncParts) {}

  /** Fetches a grant's credential into the keychain (once, even if events race); `replace` after an extension. */
  store(grant: Grant, replace = false): Promise<void> {
    const inFlight = this.#storing.get(grant.id);
    if (inFlight) return inFlight.then(() => (replace ? this.store(grant, true) : undefined));
    if (!replace && this.parts.vault.entry(grant.id)) return Promise.resolve();
    if (Date.parse(grant.expiresAt) <= this.parts.now()) return Promise.resolve();
    const task = this.#storeOnce(grant, replace)
      .catch((error: unknown) => {
        this.parts.log.error({ grantId: grant.id, err: (error as Error).message }, 'could not store the credential in the keychain');
        // The grant is live at the server but not usable here: say so, and what to do.
        const message = error instanceof ApiError
          ? `Access to ${grant.systemId} was granted, but Stint could not fetch its credential (${error.message}). Restart Stint to try again, or release the grant.`
          : `Access to ${grant.systemId} was granted, but Stint could not put the credential in your keychain (${(error as Error).message}). Unlock your keychain and restart Stint (it fetches the credential again), or release the grant.`;
        this.parts.state.notice({ kind: 'error', message });
      })
      .finally(() => this.#storing.delete(grant.id));
    this.#storing.set(grant.id, task);
    return task;
  }

  async #storeOnce(grant: Grant, replace: boolean): Promise<void> {
    const { api, vault, pendingKeys, now } = this.parts;
    const credential = await api().credential(grant.id);
    const certificate = credentialCertificate(credential.fields);
    const previous = await vault.read(grant.id).catch(() => null);
    // An extension re-issues the certificate for the key already held; a new grant's key is the
    // pending one its certificate certifies.
    const pending = !previous?.sshPrivateKey && certificate ? await pendingKeys.forCertificate(certificate).catch(() => null) : null;
    const privateKey = previous?.sshPrivateKey ?? pending?.privateKey;
    const entry: VaultEntry = {
      grantId: grant.id,
      requestId: grant.requestId,
      systemId: grant.systemId,
      startsAt: grant.startsAt,
      expiresAt: credential.expiresAt,
      envNames: Object.keys(credential.env),
      hasSshKey: Boolean(privateKey),
    };
    await vault.store(entry, {
      env: credential.env,
      fields: credential.fields,
      ...(privateKey ? { sshPrivateKey: privateKey, sshCertificate: certificate ?? '' } : {}),
    });
    if (pending) await pendingKeys.drop(pending.fingerprint).catch(() => undefined);
    if (privateKey && certificate) {
      const seconds = Math.max(1, Math.floor((Date.parse(credential.expiresAt) - now()) / 1000));
      await this.parts.sshAgent?.add(grant.id, privateKey, certificate, seconds).catch((error: unknown) =>
        this.parts.log.warn({ grantId: grant.id, err: (error as Error).message }, 'could not add the key to ssh-agent'));
    }
    this.publish(true);
    this.parts.rearm();
    if (!replace) this.parts.state.notice({ kind: 'grant-active', grant: this.#localGrant(entry) });
  }

  /**
   * The one path every ending takes (deadline, release, admin revoke, sign-out): the keychain
   * item goes, the agent key goes, shells are told, and a receipt says what was wiped.
   */
  wipe(grantId: string, reason: WipeReason): Promise<void> {
    // The clock, the server's "ended" event and a release can all reach one grant at once:
    // one wipe, one receipt; the others wait for it. A store still in flight (the grant ended
    // while its credential was being fetched) is let finish first, so the wipe then finds and
    // removes what it wrote.
    let wiping = this.#wiping.get(grantId);
    if (!wiping) {
      const storing = this.#storing.get(grantId);
      wiping = (storing ? storing.catch(() => undefined) : Promise.resolve())
        .then(() => this.#wipeOnce(grantId, reason))
        .finally(() => this.#wiping.delete(grantId));
      this.#wiping.set(grantId, wiping);
    }
    return wiping;
  }

  async #wipeOnce(grantId: string, reason: WipeReason): Promise<void> {
    const { vault, log, now } = this.parts;
    const entry = vault.entry(grantId);
    if (!entry) return;
    let wiped: string[];
    try {
      wiped = await vault.wipe(grantId);
    } catch (error) {
      // The metadata stays, so the next clock tick tries again; never report a wipe that failed.
      log.error({ grantId, err: (error as Error).message }, 'could not delete the credential from the keychain; retrying');
      return;
    }
    if (entry.hasSshKey && (await this.parts.sshAgent?.remove(grantId).catch(() => false))) wiped.push('its ssh-agent key');
    if (entry.envNames.length > 0) wiped.push(`shell variables ${entry.envNames.join(', ')} (unset at each shell's next prompt)`);
    this.publish(true);
    this.parts.rearm();
    this.parts.state.notice({ kind: 'grant-wiped', grantId, systemId: entry.systemId, reason, wiped, at: new Date(now()).toISOString() });
  }

  /** Everything already past its deadline, wiped (at start-up and on wake, before anything else). */
  async wipeOverdue(): Promise<number> {
    const overdue = this.parts.vault.overdue(this.parts.now());
    for (const entry of overdue) await this.wipe(entry.grantId, 'expired');
    return overdue.length;
  }

  /**
   * Sign-out: every grant wiped here first (nothing waits on the network while a secret is in
   * the keychain), then ended at the server too while the session still holds a token, so a copy
   * taken from a shell stops working now, not at the deadline. Best effort and bounded: offline,
   * the deadline and the credential's own lifetime hold.
   */
  async endAllForSignOut(canRelease: boolean): Promise<void> {
    const grantIds = this.parts.vault.entries().map((entry) => entry.grantId);
    for (const grantId of grantIds) await this.wipe(grantId, 'signed-out');
    if (!canRelease || grantIds.length === 0) return;
    const released = Promise.allSettled(grantIds.map((grantId) => this.parts.api().release(grantId).catch((error: unknown) => {
      this.parts.log.warn({ grantId, err: (error as Error).message }, 'could not end the grant at the server while signing out; it ends at its deadline');
    })));
    await Promise.race([released, new Promise((resolve) => setTimeout(resolve, SIGN_OUT_RELEASE_MS).unref())]);
  }

  /** Sign-out's last step here: every key pair and credential item gone from the keychain. */
  async forgetAll(): Promise<void> {
    try {
      await this.parts.pendingKeys.dropAll();
      await this.parts.vault.wipeAll();
    } catch (error) {
      // Still sign out (the session ends at the IdP), but say plainly what could not be removed.
      this.parts.state.notice({ kind: 'error', message: `Signed out, but the keychain refused to delete some items: ${(error as Error).message}` });
    }
  }

  /** What the server no longer lists as live is wiped; what it lists and is not here is fetched. */
  async reconcile(live: readonly Grant[]): Promise<void> {
    const liveIds = new Set(live.map((g) => g.id));
    for (const entry of this.parts.vault.entries()) if (!liveIds.has(entry.grantId)) await this.wipe(entry.grantId, 'revoked');
    for (const grant of live) if (grant.state === 'active') await this.store(grant);
  }

  async onClock(event: ClockEvent): Promise<void> {
    const entry = this.parts.vault.entry(event.grantId);
    if (!entry) return;
    if (event.kind === 'deadline') {
      await this.wipe(event.grantId, 'expired');
      return;
    }
    const system = this.parts.state.get().systems.find((s) => s.id === entry.systemId);
    this.parts.state.notice({ kind: 'grant-reminder', grant: this.#localGrant(entry), secondsLeft: event.secondsLeft, canExtend: system !== undefined });
  }

  #localGrant(entry: VaultEntry): LocalGrant {
    return {
      grantId: entry.grantId,
      requestId: entry.requestId,
      systemId: entry.systemId,
      startsAt: entry.startsAt,
      expiresAt: entry.expiresAt,
      state: 'active',
      envNames: entry.envNames,
      stored: true,
      inAgent: entry.hasSshKey && Boolean(this.parts.sshAgent),
    };
  }

  /** Mirrors the vault into the state and, when the set changed, into the shells' revision file. */
  publish(changed: boolean): void {
    const { state, vault, paths, log } = this.parts;
    const grants = vault.entries().map((e) => this.#localGrant(e)).sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
    const revision = changed ? state.get().revision + 1 : state.get().revision;
    if (changed) {
      try {
        publishRevision(paths, revision, grants.map((g) => ({ systemId: g.systemId, expiresAt: Math.floor(Date.parse(g.expiresAt) / 1000) })));
      } catch (error) {
        log.error({ err: (error as Error).message }, 'could not write the shell revision file');
      }
    }
    state.patch({ grants, revision });
  }

  /** Secrets for `stint env` / `stint exec`: only over the local socket, never the UI bridge. */
  async env(systems: readonly string[]): Promise<{ grants: GrantEnv[] }> {
    const now = this.parts.now();
    const grants: GrantEnv[] = [];
    for (const entry of this.parts.vault.entries()) {
      if (Date.parse(entry.expiresAt) <= now) continue;
      if (systems.length > 0 && !systems.includes(entry.systemId)) continue;
      const secret = await this.parts.vault.read(entry.grantId);
      if (!secret) continue;
      grants.push({ grantId: entry.grantId, systemId: entry.systemId, expiresAt: entry.expiresAt, env: secret.env });
    }
    // What ended is the hook's to unset: it remembers what it exported (renderEnv's `previous`).
    return { grants };
  }
}
