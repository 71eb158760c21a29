// Ids shown to people. Request, review and grant ids are UUIDv7: their first characters are a
// timestamp, so two requests made seconds apart began alike and an 8-character prefix named
// both. The short form is the id's last 8 hex digits instead, which are random.

/** What lists show and commands accept: the id's random last 8 hex digits. */
export const shortId = (id: string): string => id.slice(-8);

export type IdMatch<T> = { ok: true; item: T } | { ok: false; matches: T[] };

/**
 * The one item whose id is `key`, or whose short form begins with it; otherwise every match
 * (none, or several: the caller says which, so the person can pick).
 */
export function matchId<T>(items: readonly T[], key: string, idOf: (item: T) => string): IdMatch<T> {
  const wanted = key.trim().toLowerCase();
  const exact = items.filter((item) => idOf(item) === wanted);
  if (exact.length === 1) return { ok: true, item: exact[0]! };
  const matches = wanted ? items.filter((item) => shortId(idOf(item)).startsWith(wanted)) : [];
  return matches.length === 1 ? { ok: true, item: matches[0]! } : { ok: false, matches };
}
