import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfigText, readSecret } from './load';

const valid = `issuer: https://login.example.com
audience: stint-api
credentialKey: { env: STINT_CREDENTIAL_KEY }
systems:
  - id: prod-db
    name: Production DB
    provider: { type: demo }
    durations: { presets: [15m, 1h], max: 2h }
    requesters: [engineering]
    approvers: [sre-leads]
`;

const problems = (text: string) => {
  try {
    parseConfigText(text, 'stint.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('config', () => {
  it('parses durations and applies defaults', () => {
    const config = parseConfigText(valid);
    expect(config.systems[0]).toMatchObject({ durations: { presets: [900, 3600], max: 7200 }, approvalsRequired: 1, justification: 'required', pendingTtl: 3600 });
  });

  it('names the bad key and its line', () => {
    const text = valid.replace('max: 2h', 'max: forever');
    expect(problems(text)).toEqual([expect.stringMatching(/^systems\.0\.durations\.max \(line 8\): "forever" is not a duration/)]);
  });

  it('refuses unknown keys, inline secrets and impossible policies', () => {
    expect(problems(valid.replace('audience: stint-api', 'audience: stint-api\naudiance: typo'))).toEqual([expect.stringMatching(/line 1\b.*audiance/)]);
    expect(problems(valid.replace('{ env: STINT_CREDENTIAL_KEY }', 'hunter2'))[0]).toMatch(/^credentialKey \(line 3\)/);
    expect(problems(valid.replace('presets: [15m, 1h]', 'presets: [15m, 3h]'))[0]).toMatch(/systems\.0\.durations\.presets\.1 \(line 8\): a preset is longer/);
    expect(problems(valid.replace('approvers: [sre-leads]', 'approvers: []'))[0]).toMatch(/systems\.0\.approvers \(line 10\)/);
    expect(problems(`${valid}  - id: prod-db\n    name: again\n    provider: { type: demo }\n    durations: { presets: [1m], max: 1h }\n`)).toContainEqual(expect.stringMatching(/duplicate system id "prod-db"/));
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems('issuer: [unclosed\naudience: x\n')[0]).toMatch(/^line \d+:/);
  });

  it('reads secrets from env or file, never inline, and says which key is missing', () => {
    expect(readSecret({ env: 'K' }, 'credentialKey', '.', { K: 'value' })).toBe('value');
    expect(() => readSecret({ env: 'K' }, 'credentialKey', '.', {})).toThrow('credentialKey: the environment variable K is not set');
    const dir = mkdtempSync(join(tmpdir(), 'stint-secret-'));
    writeFileSync(join(dir, 'key'), 'from-file\n');
    expect(readSecret({ file: 'key' }, 'credentialKey', dir)).toBe('from-file');
    expect(() => readSecret({ file: 'missing' }, 'credentialKey', dir)).toThrow(/credentialKey: cannot read the secret file .*missing \(ENOENT\)/);
  });

  it('resolves files named in the config relative to the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stint-config-'));
    const text = valid
      .replace('{ env: STINT_CREDENTIAL_KEY }', '{ file: keys/credential.key }')
      .replace('provider: { type: demo }', 'provider: { type: webhook, settings: { secret: { file: hook.secret }, caFile: ca.pem, issueUrl: https://x } }');
    writeFileSync(join(dir, 'stint.yaml'), text);
    const config = loadConfigFile(join(dir, 'stint.yaml'));
    expect(config.credentialKey).toEqual({ file: join(dir, 'keys/credential.key') });
    expect(config.systems[0]!.provider.settings).toEqual({ secret: { file: join(dir, 'hook.secret') }, caFile: join(dir, 'ca.pem'), issueUrl: 'https://x' });
  });

  describe('on-call auto-approval', () => {
    const sources = `onCall:
  sources:
    pagerduty: { type: pagerduty, token: { env: PAGERDUTY_TOKEN } }
    opsgenie: { type: opsgenie, apiUrl: https://api.eu.opsgenie.com, apiKey: { file: opsgenie.key } }
    rota: { type: file, path: oncall.json }
`;
    const withRule = (rule: string, head = sources) => head + valid.replace('approvers: [sre-leads]', `approvers: [sre-leads]\n    autoApprove: ${rule}`);

    it('keeps groups-only rules, and lets groups and onCall live side by side', () => {
      expect(parseConfigText(valid.replace('approvers: [sre-leads]', 'approvers: [sre-leads]\n    autoApprove: { groups: [sre-leads], maxDuration: 30m }')).systems[0]!.autoApprove).toEqual({ groups: ['sre-leads'], maxDuration: 1800 });
      const config = parseConfigText(withRule('{ groups: [sre-leads], maxDuration: 30m, onCall: { source: pagerduty, schedule: PXXXX, maxDuration: 1h } }'));
      expect(config.systems[0]!.autoApprove).toEqual({ groups: ['sre-leads'], maxDuration: 1800, onCall: { source: 'pagerduty', schedule: 'PXXXX', maxDuration: 3600 } });
      expect(config.onCall).toEqual({
        timeoutMs: 3000,
        cacheSeconds: 30,
        sources: {
          pagerduty: { type: 'pagerduty', apiUrl: 'https://api.pagerduty.com', token: { env: 'PAGERDUTY_TOKEN' } },
          opsgenie: { type: 'opsgenie', apiUrl: 'https://api.eu.opsgenie.com', apiKey: { file: 'opsgenie.key' } },
          rota: { type: 'file', path: 'oncall.json' },
        },
      });
      expect(parseConfigText(valid).onCall).toEqual({ timeoutMs: 3000, cacheSeconds: 30, sources: {} });
    });

    it('refuses a rule that names an unknown source, and says which exist', () => {
      expect(problems(withRule('{ onCall: { source: pagerdooty, schedule: PXXXX, maxDuration: 1h } }'))).toEqual([
        'systems.0.autoApprove.onCall.source (line 16): no on-call source is named "pagerdooty"; define it under onCall.sources (defined: pagerduty, opsgenie, rota)',
      ]);
      expect(problems(withRule('{ onCall: { source: pagerduty, schedule: PXXXX, maxDuration: 1h } }', ''))).toEqual([
        'systems.0.autoApprove.onCall.source (line 11): no on-call source is named "pagerduty"; define it under onCall.sources (none is defined)',
      ]);
    });

    it('refuses rules without a duration limit or longer than the system allows, and an empty autoApprove', () => {
      expect(problems(withRule('{ onCall: { source: pagerduty, schedule: PXXXX } }'))).toEqual([expect.stringMatching(/^systems\.0\.autoApprove\.onCall\.maxDuration \(line 16\): give onCall\.maxDuration \(or autoApprove\.maxDuration\)/)]);
      expect(problems(withRule('{ onCall: { source: pagerduty, schedule: PXXXX, maxDuration: 3h } }'))).toEqual([expect.stringMatching(/^systems\.0\.autoApprove\.onCall\.maxDuration \(line 16\): longer than durations\.max/)]);
      expect(problems(withRule('{ groups: [sre-leads] }'))).toEqual([expect.stringMatching(/^systems\.0\.autoApprove\.maxDuration \(line 16\): give maxDuration/)]);
      expect(problems(withRule('{ maxDuration: 1h }'))).toEqual([expect.stringMatching(/^systems\.0\.autoApprove \(line 16\): name groups, onCall or both/)]);
    });

    it('refuses unknown source types, inline tokens, and plain http beyond this host', () => {
      const one = (source: string) => problems(`onCall:\n  sources:\n    s: ${source}\n${valid}`);
      expect(one('{ type: victorops, token: { env: T } }')).toEqual([expect.stringMatching(/^onCall\.sources\.s\.type \(line 3\): give type: pagerduty, opsgenie, file or url/)]);
      expect(one('{ type: pagerduty, token: hunter2 }')).toEqual([expect.stringMatching(/^onCall\.sources\.s\.token \(line 3\)/)]);
      expect(one('{ type: opsgenie, apiUrl: "http://opsgenie.internal", apiKey: { env: K } }')).toEqual([expect.stringMatching(/^onCall\.sources\.s\.apiUrl \(line 3\): must be an https:\/\/ URL \(got http:\/\/\)/)]);
      expect(one('{ type: url, url: "http://127.0.0.1:8080/oncall.json" }')).toEqual([]);
      expect(one('{ type: file }')).toEqual([expect.stringMatching(/^onCall\.sources\.s\.path \(line 3\)/)]);
    });

    it('resolves the rota file and file secrets relative to the config file', () => {
      const dir = mkdtempSync(join(tmpdir(), 'stint-config-'));
      writeFileSync(join(dir, 'stint.yaml'), sources + valid);
      const config = loadConfigFile(join(dir, 'stint.yaml'));
      expect(config.onCall.sources.rota).toEqual({ type: 'file', path: join(dir, 'oncall.json') });
      expect(config.onCall.sources.opsgenie).toMatchObject({ apiKey: { file: join(dir, 'opsgenie.key') } });
      expect(config.onCall.sources.pagerduty).toMatchObject({ token: { env: 'PAGERDUTY_TOKEN' } });
    });
  });
});
