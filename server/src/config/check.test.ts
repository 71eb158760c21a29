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

function problemsOf(text: string, env: NodeJS.ProcessEnv = process.env, files: Record<string, string> = {}): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'stint-check-'));
  const file = join(dir, 'stint.yaml');
  writeFileSync(file, text);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  try {
    checkConfigFile(file, undefined, env);
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

  it('reads every on-call source\'s secret and rota file as the server will, naming the key and line', () => {
    const text = `onCall:
  sources:
    pagerduty: { type: pagerduty, token: { env: PAGERDUTY_TOKEN } }
    opsgenie: { type: opsgenie, apiKey: { file: opsgenie.key } }
    rota: { type: file, path: oncall.json }
${config(system('sandbox', '{ type: demo }'))}`;
    expect(problemsOf(text, {}, {})).toEqual([
      'onCall.sources.pagerduty.token (line 3): the environment variable PAGERDUTY_TOKEN is not set',
      expect.stringMatching(/^onCall\.sources\.opsgenie\.apiKey \(line 4\): cannot read the secret file .*opsgenie\.key \(ENOENT\)$/),
      expect.stringMatching(/^onCall\.sources\.rota\.path \(line 5\): cannot read the rota file .*oncall\.json \(ENOENT\)$/),
    ]);
    expect(problemsOf(text, { PAGERDUTY_TOKEN: 'x' }, { 'opsgenie.key': 'k\n', 'oncall.json': '{"schedules": {}}' })).toEqual([]);
  });
});
