/**
 * The part of a provider's name (a PostgreSQL role, a database user, a key id) that makes it
 * one grant's own: the grant id's random bits, in base32 (a-z, 2-7). A UUIDv7 holds 74 of them
 * (12 in rand_a, 62 in rand_b; a v4 id has random bits in the same places), so two grants get
 * the same token only if all 74 agree: never, at any rate grants are made (a property test
 * makes 100,000 in a second). The time prefix is left out on purpose: grants made in the same
 * minute share it, which is how `stint_alice_01a233f9` once named two grants.
 */
export function grantToken(grantId: string): string {
  const hex = grantId.replaceAll('-', '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a grant id: ${grantId.slice(0, 40)}`);
  const bytes = Buffer.from(hex, 'hex');
  // rand_a: the low nibble of byte 6 and byte 7; rand_b: the low 6 bits of byte 8 and bytes 9-15.
  let bits = (BigInt(bytes[6]! & 0x0f) << 8n) | BigInt(bytes[7]!);
  bits = (bits << 6n) | BigInt(bytes[8]! & 0x3f);
  for (let i = 9; i < 16; i++) bits = (bits << 8n) | BigInt(bytes[i]!);
  // 74 bits, one zero bit on the right: 75 bits are 15 base32 characters.
  bits <<= 1n;
  let out = '';
  for (let i = 14; i >= 0; i--) out += ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)];
  return out;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** How long grantToken's answer is. */
export const GRANT_TOKEN_CHARS = 15;
