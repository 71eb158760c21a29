// Requesters for load benchmarks. One person has one live grant per system, so a load that
// creates many requests for one system needs as many people: engineers with tokens signed by
// the bench IdP's own key (bench/bench-idp.ts prints where it keeps it).
import { tokenSigner } from '../test-support/tokens';

/** What bench-idp.ts (and bench-server.ts, passing it on) tells a load tool about the IdP. */
export interface BenchIdp {
  issuer: string;
  dataDir: string;
}

/** Signs access tokens for `engineer-<n>` people (group engineering), an hour long. */
export async function engineers(idp: BenchIdp): Promise<(n: number) => Promise<string>> {
  const sign = await tokenSigner(idp.dataDir, idp.issuer);
  const exp = () => Math.floor(Date.now() / 1000) + 3600;
  return (n) => sign({ groups: ['engineering'], name: `Engineer ${n}` }, { sub: `engineer-${n}`, exp: exp() });
}

/**
 * Tokens of engineers `first` .. `first + count - 1`, signed ahead of a measurement so that
 * signing is not in it (in batches: WebCrypto signs on libuv's threads, and both cores help).
 */
export async function engineerTokens(idp: BenchIdp, count: number, first = 0): Promise<string[]> {
  const sign = await engineers(idp);
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 256) {
    tokens.push(...(await Promise.all(Array.from({ length: Math.min(256, count - i) }, (_, j) => sign(first + i + j)))));
  }
  return tokens;
}
