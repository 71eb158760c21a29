// Bundles (issue 21): one catalog entry, several systems: one request, one review, one
// countdown, and each member's credential issued and revoked by the member's own provider. A
// bundle is a system whose provider is `bundle`; the config loader copies each member's id,
// name and provider settings into the bundle's settings (schema.ts, expandBundles), so which
// providers revoke a bundle's grant is fixed by the bundle's own settings, as for any system.
import { createHash } from 'node:crypto';
import { SystemId } from '@stint/contract';
import { z } from 'zod';
import type { SystemConfig } from '../config/schema';
import { ProviderRefusal, type ExtendInput, type IssuedCredential, type IssueInput, type Provider, type ProviderFactory, type ProviderRegistry } from './provider';

export const BUNDLE_TYPE = 'bundle';

const Member = z.strictObject({
  id: SystemId,
  name: z.string(),
  provider: z.strictObject({ type: z.string().min(1), settings: z.record(z.string(), z.unknown()) }),
});
const BundleSettings = z.strictObject({
  /** The member systems, by id, as the admin wrote them. */
  systems: z.array(SystemId).min(2, 'a bundle has at least two systems').max(10, 'a bundle has at most ten systems'),
  /** Filled in by the config loader from the member systems; not written by hand. */
  members: z.array(Member),
});
export type BundleMember = z.infer<typeof Member>;

/** The member ids a bundle system names, or null when it is not a bundle. */
export function bundleMembers(system: Pick<SystemConfig, 'provider'>): string[] | null {
  if (system.provider.type !== BUNDLE_TYPE) return null;
  const systems = system.provider.settings.systems;
  return Array.isArray(systems) ? systems.map(String) : [];
}

/**
 * The grant id a member's provider sees: derived from the bundle grant's id and the member's,
 * so two members on one target (two roles on one PostgreSQL) get two names, and a retry gets
 * the same one again (issue and revoke stay idempotent per grant). Shaped as a UUID, with the
 * hash's bits where the random bits of a grant id would be.
 */
export function memberGrantId(grantId: string, memberId: string): string {
  const h = createHash('sha256').update(`stint-bundle\n${grantId}\n${memberId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

interface Built {
  member: BundleMember;
  system: SystemConfig;
  provider: Provider;
}

/** What the bundle keeps: each member's own state, and the names (never values) of its variables, by member id. */
type BundleState = { members: Record<string, Record<string, unknown>>; envNames: Record<string, string[]> };

export function bundleProvider(registry: ProviderRegistry): ProviderFactory {
  return (system) => {
    const parsed = BundleSettings.safeParse(system.provider.settings);
    if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`).join('; '));
    const built: Built[] = parsed.data.members.map((member) => {
      const memberSystem = asSystem(system, member);
      if (member.provider.type === BUNDLE_TYPE) throw new Error(`systems: ${member.id} is itself a bundle; bundles hold systems, not other bundles`);
      try {
        return { member, system: memberSystem, provider: registry.build(memberSystem) };
      } catch (error) {
        throw new Error(`member ${member.id}: ${(error as Error).message}`);
      }
    });
    return new BundleProvider(built);
  };
}

class BundleProvider implements Provider {
  readonly type = BUNDLE_TYPE;
  readonly needsPublicKey: boolean;

  constructor(private readonly members: readonly Built[]) {
    this.needsPublicKey = members.some((m) => m.provider.needsPublicKey);
  }

  validatePublicKey(text: string): string | null {
    for (const { member, provider } of this.members) {
      const problem = provider.needsPublicKey ? (provider.validatePublicKey?.(text) ?? null) : null;
      if (problem) return `${member.name}: ${problem}`;
    }
    return null;
  }

  checkUser(user: IssueInput['user']): string | null {
    for (const { member, provider } of this.members) {
      const problem = provider.checkUser?.(user) ?? null;
      if (problem) return `${member.name}: ${problem}`;
    }
    return null;
  }

  /**
   * Every member's credential, in the order the bundle names them. When one fails, those
   * already issued are taken back at once (a half-issued bundle is no use, and holds access no
   * one is counting down), and the error names the member: a refusal stays a refusal, anything
   * else is retried as a whole.
   */
  async issue(input: IssueInput): Promise<IssuedCredential> {
    const issued: { built: Built; credential: IssuedCredential }[] = [];
    for (const built of this.members) {
      try {
        issued.push({ built, credential: await built.provider.issue(this.#inputFor(built, input)) });
      } catch (error) {
        const takenBack = await this.#takeBack(input.grantId, issued);
        const message = `${built.member.name} could not be issued (${(error as Error).message})${takenBack}`;
        throw error instanceof ProviderRefusal ? new ProviderRefusal(message) : new Error(message, { cause: error });
      }
    }
    try {
      return merge(issued.map(({ built, credential }) => ({ member: built.member, credential })));
    } catch (error) {
      throw new ProviderRefusal(`${(error as Error).message}${await this.#takeBack(input.grantId, issued)}`);
    }
  }

  /** Every member is revoked, each by its own provider; one that fails is retried with the rest (revokes are idempotent). */
  async revoke(input: { grantId: string; system: SystemConfig; state: Record<string, unknown>; reason: 'expired' | 'released' | 'revoked' | 'failed' }): Promise<void> {
    const states = (input.state as Partial<BundleState>).members ?? {};
    const failures: string[] = [];
    for (const built of this.members) {
      try {
        await built.provider.revoke({ grantId: memberGrantId(input.grantId, built.member.id), system: built.system, state: states[built.member.id] ?? {}, reason: input.reason });
      } catch (error) {
        failures.push(`${built.member.name}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`could not revoke every member of the bundle (${failures.join('; ')}); retrying`);
  }

  /**
   * Members whose credential has a lifetime of its own move it (and may re-issue it); the others
   * keep theirs as it is now (their fields and variables, from the current credential).
   */
  async extend(input: ExtendInput): Promise<IssuedCredential> {
    const { members: states = {}, envNames = {} } = input.state as Partial<BundleState>;
    const parts: { member: BundleMember; credential: IssuedCredential }[] = [];
    for (const built of this.members) {
      const state = states[built.member.id] ?? {};
      const credential = built.provider.extend
        ? await built.provider.extend({ ...this.#inputFor(built, input), state, current: null })
        : currentPart(input.current, built.member, state, envNames[built.member.id] ?? []);
      parts.push({ member: built.member, credential });
    }
    return merge(parts);
  }

  async probe(): Promise<void> {
    for (const { member, provider } of this.members) {
      try {
        await provider.probe?.();
      } catch (error) {
        throw new Error(`${member.name}: ${(error as Error).message}`, { cause: error });
      }
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.members.map(({ provider }) => provider.close?.()));
  }

  #inputFor(built: Built, input: IssueInput): IssueInput {
    return { ...input, grantId: memberGrantId(input.grantId, built.member.id), system: built.system, publicKey: built.provider.needsPublicKey ? input.publicKey : null };
  }

  /** Revokes what was issued of a bundle that failed; says what was taken back (or could not be). */
  async #takeBack(grantId: string, issued: readonly { built: Built; credential: IssuedCredential }[]): Promise<string> {
    if (issued.length === 0) return '';
    const left: string[] = [];
    for (const { built, credential } of issued) {
      await built.provider
        .revoke({ grantId: memberGrantId(grantId, built.member.id), system: built.system, state: credential.state, reason: 'failed' })
        .catch(() => left.push(built.member.name));
    }
    const names = issued.map((i) => i.built.member.name).join(', ');
    return left.length === 0 ? `; ${names} ${issued.length === 1 ? 'was' : 'were'} issued and taken back` : `; ${names} ${issued.length === 1 ? 'was' : 'were'} issued; ${left.join(', ')} could not be taken back yet and ${left.length === 1 ? 'ends' : 'end'} at the deadline`;
  }
}

/**
 * One credential from the members': fields prefixed with the member's id (the card shows each
 * member's), variables as they are. Two members setting one variable would overwrite each
 * other in a shell, so that is refused and named.
 */
function merge(parts: readonly { member: BundleMember; credential: IssuedCredential }[]): IssuedCredential {
  const fields: Record<string, string> = {};
  const env: Record<string, string> = {};
  const owner = new Map<string, string>();
  const state: BundleState = { members: {}, envNames: {} };
  for (const { member, credential } of parts) {
    for (const [name, value] of Object.entries(credential.fields)) fields[`${member.id}.${name}`] = value;
    for (const [name, value] of Object.entries(credential.env)) {
      const other = owner.get(name);
      if (other !== undefined) throw new Error(`${other} and ${member.name} both set ${name}; give one of them another variable name in its settings`);
      owner.set(name, member.name);
      env[name] = value;
    }
    state.members[member.id] = credential.state;
    state.envNames[member.id] = Object.keys(credential.env);
  }
  return { fields, env, state, audit: { members: parts.map(({ member }) => ({ id: member.id, provider: member.provider.type })) } };
}

/** A member's part of the credential as it is now: its fields (by their prefix) and its variables (by the names kept in state). */
function currentPart(current: ExtendInput['current'], member: BundleMember, state: Record<string, unknown>, envNames: readonly string[]): IssuedCredential {
  const prefix = `${member.id}.`;
  const fields = Object.fromEntries(Object.entries(current?.fields ?? {}).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const env = Object.fromEntries(envNames.filter((name) => current?.env[name] !== undefined).map((name) => [name, current!.env[name]!]));
  return { fields, env, state };
}

/** What the catalog shows of a bundle: its members by id, name and kind; null for a single system. */
export function bundleView(system: Pick<SystemConfig, 'provider'>): { id: string; name: string; provider: string }[] | null {
  if (system.provider.type !== BUNDLE_TYPE) return null;
  const members = z.array(Member).safeParse(system.provider.settings.members);
  return members.success ? members.data.map((m) => ({ id: m.id, name: m.name, provider: m.provider.type })) : [];
}

/** A member as a system of its own: the bundle's policy, the member's id, name and provider. */
const asSystem = (bundle: SystemConfig, member: BundleMember): SystemConfig => ({ ...bundle, id: member.id, name: member.name, provider: member.provider });

/** A bundle's members as systems of their own; [] for a single system. */
export function bundleMemberSystems(system: SystemConfig): SystemConfig[] {
  if (system.provider.type !== BUNDLE_TYPE) return [];
  const members = z.array(Member).safeParse(system.provider.settings.members);
  return members.success ? members.data.map((m) => asSystem(system, m)) : [];
}

/** Each member's own provider state in a bundle grant's stored state (BundleState), by member id. */
export function bundleMemberStates(state: Record<string, unknown>): [string, Record<string, unknown>][] {
  const members = (state as Partial<BundleState>).members;
  if (!members || typeof members !== 'object') return [];
  return Object.entries(members).filter((entry): entry is [string, Record<string, unknown>] => !!entry[1] && typeof entry[1] === 'object');
}
