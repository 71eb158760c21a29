import { createHash } from 'node:crypto';
import type { Person } from '@stint/contract';
import type { SystemConfig } from '../config/schema';

export interface IssueInput {
  grantId: string;
  requestId: string;
  system: SystemConfig;
  /** `login` is the IdP's login claim (identity.claims.login), or the sub when it sends none. */
  user: Person & { groups: string[]; login: string };
  startsAt: number;
  expiresAt: number;
  publicKey: string | null;
}

export interface IssuedCredential {
  /** Named values shown to the grantee (host, user, password, certificate...). */
  fields: Record<string, string>;
  /** Environment variables for shells and `stint exec`. */
  env: Record<string, string>;
  /** What revoke needs later (role name, serial...). Stored in clear: must hold no secret. */
  state: Record<string, unknown>;
  /** What the grant.activated audit row adds of what was issued (a bundle's members); no secret. */
  audit?: Record<string, unknown>;
}

/** An extension: the grant's new deadline, what revoke keeps, and the credential as it is now (the bundle keeps members' parts that do not change). */
export type ExtendInput = IssueInput & { state: Record<string, unknown>; current?: Pick<IssuedCredential, 'fields' | 'env'> | null };

export interface RevokeInput {
  grantId: string;
  system: SystemConfig;
  state: Record<string, unknown>;
  reason: 'expired' | 'released' | 'revoked' | 'failed';
}

/**
 * A provider mints a real credential limited to the grant window and takes it back early.
 * revoke must be idempotent: the sweeper retries it until it succeeds, and a replica may
 * retry one that another replica finished but did not record.
 */
export interface Provider {
  readonly type: string;
  readonly needsPublicKey: boolean;
  /** Checks a public key before a request is recorded; returns what is wrong, or null. */
  validatePublicKey?(text: string): string | null;
  /**
   * Checks, before a request is recorded, that this person can be given a credential at all
   * (say, that their login name is a usable SSH principal as it is); returns why not, or null.
   * issue() refuses the same with a ProviderRefusal.
   */
  checkUser?(user: IssueInput['user']): string | null;
  issue(input: IssueInput): Promise<IssuedCredential>;
  revoke(input: RevokeInput): Promise<void>;
  /**
   * Moves the credential's own deadline (and may re-issue it). Without it, an extension only
   * moves Stint's deadline: right for providers whose credential has no lifetime of its own.
   */
  extend?(input: ExtendInput): Promise<IssuedCredential>;
  /**
   * Reaches the system as issue and revoke would (the admin logs in, what it needs is there),
   * for `stint-server check-config`; never at boot or on a reload, which must not depend on the
   * system being up. Resolves when all is well, rejects with what is wrong.
   */
  probe?(): Promise<void>;
  /** Lets go of connections (pools, agents) once the provider is no longer needed. */
  close?(): Promise<void>;
}

/**
 * The provider's own "no" (as opposed to a failure that a retry may get past): the credential
 * cannot be made for this grant at all. The message is shown to the requester.
 */
export class ProviderRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderRefusal';
  }
}

/** Builds a provider for a system's settings; throws with a message naming the bad setting. */
export type ProviderFactory = (system: SystemConfig) => Provider;

/** One system whose provider cannot be built: which (index in `systems`), and why. */
export interface ProviderProblem {
  index: number;
  systemId: string;
  key: 'type' | 'settings';
  message: string;
}

export const providerProblemKey = (p: ProviderProblem) => `systems.${p.systemId}.provider.${p.key}`;

export class ProviderSettingsError extends Error {
  constructor(readonly problems: readonly ProviderProblem[]) {
    super(`Provider settings are not valid:\n${problems.map((p) => `  - ${providerProblemKey(p)}: ${p.message}`).join('\n')}`);
    this.name = 'ProviderSettingsError';
  }
}

/** The provider types this server knows, and how to build one for a system. */
export class ProviderRegistry {
  private readonly factories = new Map<string, ProviderFactory>();

  register(type: string, factory: ProviderFactory): this {
    this.factories.set(type, factory);
    return this;
  }

  /**
   * Builds a provider for each system (every setting validated, secrets read), or throws one
   * ProviderSettingsError naming every bad system.
   */
  configure(systems: readonly SystemConfig[]): Map<string, Provider> {
    const built = new Map<string, Provider>();
    const problems: ProviderProblem[] = [];
    for (const [index, system] of systems.entries()) {
      try {
        built.set(system.id, this.build(system));
      } catch (error) {
        const unknown = error instanceof UnknownProviderType;
        problems.push({ index, systemId: system.id, key: unknown ? 'type' : 'settings', message: (error as Error).message });
      }
    }
    if (problems.length > 0) throw new ProviderSettingsError(problems);
    return built;
  }

  /** One system's provider; throws with a message naming the bad setting. */
  build(system: SystemConfig): Provider {
    const factory = this.factories.get(system.provider.type);
    if (!factory) throw new UnknownProviderType(`unknown provider "${system.provider.type}" (known: ${[...this.factories.keys()].join(', ')})`);
    return factory(system);
  }
}

class UnknownProviderType extends Error {}

/**
 * Which provider configuration issued a grant: the system's id and its provider settings,
 * with keys in a fixed order. Anything else about the system (durations, approvers) may
 * change without changing who must revoke what it issued.
 */
export function providerKey(system: Pick<SystemConfig, 'id' | 'provider'>): string {
  return createHash('sha256').update(stableJson({ id: system.id, provider: system.provider })).digest('hex').slice(0, 32);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
