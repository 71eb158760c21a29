// Every refusal the server can answer with has an exit code the CLI documents: a code the server
// names and the CLI does not know would exit 1 ("failed") where a script expects 4 ("refused").
// Read from the server's source, so a new refusal without a place in contract/src/error-codes.ts
// fails here (the CLI once listed `not_a_requester` while the server said `not_requester`).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorKind } from '@stint/contract';
import { describe, expect, it } from 'vitest';
import { EXIT, exitFor } from '../src/errors';

const SERVER = new URL('../../server/src', import.meta.url).pathname;

function serverCodes(): { status: number; code: string }[] {
  const found: { status: number; code: string }[] = [];
  for (const name of readdirSync(SERVER, { recursive: true, encoding: 'utf8' })) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
    const text = readFileSync(join(SERVER, name), 'utf8');
    for (const m of text.matchAll(/(?:new ApiProblem|refuse)\(\s*(4\d\d),\s*'([a-z_]+)'/g)) found.push({ status: Number(m[1]), code: m[2]! });
  }
  return found;
}

describe('error codes', () => {
  it('gives every 4xx refusal the server names an exit code other than "failed"', () => {
    const codes = serverCodes();
    expect(codes.length).toBeGreaterThan(15);
    // 429 says "later", not "no": it stays a plain failure (exit 1) on purpose.
    const unplaced = codes.filter(({ status, code }) => status !== 429 && errorKind(code) === 'failed').map(({ code }) => code);
    expect(unplaced).toEqual([]);
  });

  it('maps each kind to its documented exit code', () => {
    expect(exitFor({ code: 'not_requester' })).toBe(EXIT.refused);
    expect(exitFor({ code: 'grant_active' })).toBe(EXIT.refused);
    expect(exitFor({ code: 'request_not_found' })).toBe(EXIT.notFound);
    expect(exitFor({ code: 'signed_out' })).toBe(EXIT.signedOut);
    expect(exitFor({ code: 'provider_unavailable' })).toBe(EXIT.failed);
  });
});
