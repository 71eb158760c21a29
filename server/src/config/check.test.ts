import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigFile } from './check';
import { ConfigError } from './load';

const config = (systems: string) => `issuer: https://login.example.com
audience: stint-api
credentialKey: { env: STINT_CREDENTIAL_KEY }
systems:
${systems}`;

const system = (id: string, provider: string) => `  - id: ${id}
    name: ${id}
    provider: ${provider}
    durations: { presets: [15m], max: 1h }
    requesters: [engineering]
    approvers: [sre-leads]
`;

function problemsOf(text: string): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'stint-check-')), 'stint.yaml');
  writeFileSync(file, text);
  try {
    checkConfigFile(file);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('check-config: provider settings, as the server will build them', () => {
  it('passes a config whose providers can all be built', () => {
    expect(problemsOf(config(system('sandbox', '{ type: demo, settings: { envVar: SANDBOX_TOKEN } }')))).toEqual([]);
  });

  it('names the system, the key and its line for settings the provider refuses, and for unknown providers', () => {
    const text = config(
      system('sandbox', '{ type: demo }') +
        system('ext-tool', '{ type: webhook, settings: { issueUrl: "http://insecure.example", revokeUrl: "https://x.example/r", secret: { env: NOPE } } }') +
        system('mystery', '{ type: ldap }'),
    );
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(/^systems\.ext-tool\.provider\.settings \(line 13\): .*issueUrl: must be an https:\/\/ URL/),
      expect.stringMatching(/^systems\.mystery\.provider\.type \(line 19\): unknown provider "ldap"/),
    ]);
  });
});
