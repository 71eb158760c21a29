// From an identity provider's claims to a person: which claim is what, read the way real IdPs
// send them (arrays, delimited strings, names with colons, nested paths, Entra's overage).
import type { IdentityConfig } from '../config/schema';

export type ClaimMapping = Required<IdentityConfig['claims']>;

/** The person a token stands for, before the server's own groups (admin, auditor) are applied. */
export interface Identity {
  sub: string;
  /** The login name ({user} in principals and role names); the sub when the IdP sends none. */
  login: string;
  name: string | null;
  email: string | null;
  groups: string[];
}

/**
 * Why groups could not be read: said to the person (their catalog would be empty) and to the
 * admin, who must change a setting. `absent`: the claim is not there at all.
 */
export interface GroupsProblem {
  kind: 'absent' | 'overage' | 'malformed';
  message: string;
}

/**
 * Reads a claim by its exact name first ("cognito:groups", "https://example.com/roles"), then
 * as a dotted path into nested objects ("realm_access.roles"). Own properties only.
 */
export function readClaim(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let value: unknown = claims;
  for (const key of path.split('.')) {
    if (!value || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Groups from an array of strings or one delimited string; anything else is a problem. */
export function readGroups(claims: Record<string, unknown>, mapping: Pick<ClaimMapping, 'groups' | 'groupsDelimiter'>): { groups: string[] } | GroupsProblem {
  const raw = readClaim(claims, mapping.groups);
  if (Array.isArray(raw)) {
    if (raw.every((g) => typeof g === 'string')) return { groups: unique(raw) };
    return { kind: 'malformed', message: `the "${mapping.groups}" claim holds values that are not strings` };
  }
  if (typeof raw === 'string') return { groups: unique(raw.split(mapping.groupsDelimiter).map((g) => g.trim())) };
  if (raw === undefined) {
    // Entra ID leaves groups out of a token when a person is in too many, and names where to
    // ask instead (_claim_names); Stint does not call Microsoft Graph.
    const overage = readClaim(claims, '_claim_names');
    if (overage && typeof overage === 'object' && Object.hasOwn(overage, mapping.groups)) {
      return { kind: 'overage', message: `the identity provider left the "${mapping.groups}" claim out (too many groups for one token, "_claim_names")` };
    }
    return { kind: 'absent', message: `the identity provider sent no "${mapping.groups}" claim` };
  }
  return { kind: 'malformed', message: `the "${mapping.groups}" claim is neither a list nor a delimited string` };
}

const unique = (groups: readonly string[]) => [...new Set(groups.filter((g) => g.length > 0))];
const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : null);

/** The person a set of claims describes; `problem` says why their groups are unknown. */
export function identityOf(sub: string, claims: Record<string, unknown>, mapping: ClaimMapping): { identity: Identity; problem?: GroupsProblem } {
  const read = readGroups(claims, mapping);
  const login = text(readClaim(claims, mapping.login));
  const identity: Identity = {
    sub,
    login: login ?? sub,
    name: text(readClaim(claims, mapping.name)) ?? login,
    email: text(readClaim(claims, mapping.email)),
    groups: 'groups' in read ? read.groups : [],
  };
  return 'groups' in read ? { identity } : { identity, problem: read };
}
