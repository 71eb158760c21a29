// The identity provider as this server knows it: its discovery document and signing keys,
// kept when it cannot be reached so an IdP outage does not lock everyone out.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';

const Discovery = z.object({
  issuer: z.string(),
  jwks_uri: z.url(),
  userinfo_endpoint: z.url().optional(),
  introspection_endpoint: z.url().optional(),
});
export type IdpMetadata = z.infer<typeof Discovery>;
const KeySetDocument = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

/** Keys are fetched again in the background once this old. */
const REFRESH_AFTER_MS = 10 * 60_000;
/** After a failed fetch, or an unknown key id, no new fetch for this long. */
const COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5000;

export interface IdpState {
  /** ok: keys fresh; stale: the IdP cannot be reached and the last good keys are in use; down: no usable keys. */
  state: 'ok' | 'stale' | 'down';
  /** One line for /readyz and logs. */
  detail: string;
}

interface Held {
  metadata: IdpMetadata;
  keys: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
}

export interface IdpKeysOptions {
  issuer: string;
  /** How long the last good keys are used while the IdP is unreachable. */
  maxStaleMs: number;
  now?: () => number;
  fetch?: typeof fetch;
  /** Told once when the IdP becomes unreachable and once when it is back. */
  onChange?: (state: IdpState) => void;
}

/**
 * Discovery and JWKS, fetched together. Fresh keys are refreshed in the background every ten
 * minutes; while the IdP cannot be reached the last good ones are used for up to `maxStaleMs`
 * (tokens it already signed keep working; a key it rotated in meanwhile is unknown until it is
 * back). An unknown `kid` fetches again at once (at most every 30 s): the IdP rotated its keys.
 */
export class IdpKeys {
  private held: Held | null = null;
  private fetching: Promise<Held> | null = null;
  private failedAt = -Infinity;
  private lastError: string | null = null;
  private unreachableSince: number | null = null;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: IdpKeysOptions) {
    this.now = options.now ?? Date.now;
    this.fetch = options.fetch ?? fetch;
  }

  /** What jwtVerify asks for a token's key. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const held = await this.current();
    try {
      return await held.keys(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || this.now() - held.fetchedAt < COOLDOWN_MS || this.coolingDown()) throw error;
      const fresh = await this.refresh().catch(() => null);
      if (!fresh) throw error;
      return fresh.keys(header, token);
    }
  };

  /** The discovery document (for userinfo and introspection endpoints). */
  async metadata(): Promise<IdpMetadata> {
    return (await this.current()).metadata;
  }

  /** Fetches now unless keys are fresh; false when the IdP cannot be reached and nothing usable is held. */
  async warmUp(): Promise<boolean> {
    return this.current().then(() => true, () => false);
  }

  state(): IdpState {
    const now = this.now();
    const held = this.held;
    const age = held ? now - held.fetchedAt : Infinity;
    if (held && this.unreachableSince === null) return { state: 'ok', detail: `signing keys fetched ${minutes(age)} ago` };
    if (held && age <= this.options.maxStaleMs) {
      return {
        state: 'stale',
        detail: `the identity provider has been unreachable for ${minutes(now - this.unreachableSince!)} (${this.lastError}); using its signing keys from ${minutes(age)} ago, for ${minutes(this.options.maxStaleMs - age)} more (setting identity.keysMaxStale)`,
      };
    }
    if (held) return { state: 'down', detail: `the identity provider has been unreachable for ${minutes(now - (this.unreachableSince ?? now))} (${this.lastError}) and its last signing keys are older than identity.keysMaxStale` };
    return { state: 'down', detail: this.lastError ? `the identity provider cannot be reached (${this.lastError})` : 'the identity provider has not been asked yet' };
  }

  /** Whether keys are held that may still verify (fresh, or stale within keysMaxStale). */
  usable(): boolean {
    return this.held !== null && this.now() - this.held.fetchedAt <= this.options.maxStaleMs;
  }

  private coolingDown() {
    return this.now() - this.failedAt < COOLDOWN_MS;
  }

  private async current(): Promise<Held> {
    const held = this.held;
    const age = held ? this.now() - held.fetchedAt : Infinity;
    if (held && age < REFRESH_AFTER_MS) return held;
    if (held && age <= this.options.maxStaleMs) {
      // Old but usable: answer now, refresh behind it.
      if (!this.coolingDown()) void this.refresh().catch(() => undefined);
      return held;
    }
    if (this.coolingDown() && !this.fetching) throw new Error(this.lastError ?? 'the identity provider cannot be reached');
    return this.refresh();
  }

  private refresh(): Promise<Held> {
    this.fetching ??= this.load()
      .then(
        (held) => {
          this.held = held;
          this.lastError = null;
          if (this.unreachableSince !== null) {
            this.unreachableSince = null;
            this.options.onChange?.(this.state());
          }
          return held;
        },
        (error: unknown) => {
          this.failedAt = this.now();
          this.lastError = (error as Error).message;
          if (this.unreachableSince === null) {
            this.unreachableSince = this.now();
            this.options.onChange?.(this.state());
          }
          throw error;
        },
      )
      .finally(() => {
        this.fetching = null;
      });
    return this.fetching;
  }

  private async load(): Promise<Held> {
    const { issuer } = this.options;
    const metadata = Discovery.parse(await this.getJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, 'discovery'));
    if (metadata.issuer !== issuer) throw new Error(`discovery names issuer ${metadata.issuer}, expected ${issuer} (setting issuer)`);
    const document = KeySetDocument.parse(await this.getJson(metadata.jwks_uri, 'the key set'));
    return { metadata, keys: createLocalJWKSet(document as JSONWebKeySet), fetchedAt: this.now() };
  }

  private async getJson(url: string, what: string): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
    } catch (error) {
      throw new Error(`${what} at ${url} could not be fetched: ${(error as Error).message}`);
    }
    if (!response.ok) throw new Error(`${what} at ${url} answered ${response.status}`);
    return response.json();
  }
}

function minutes(ms: number): string {
  if (!Number.isFinite(ms)) return 'ever';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
