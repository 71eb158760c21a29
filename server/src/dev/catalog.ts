import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError, parseConfigText, resolveRelativeFiles } from '../config/load';
import type { ServerConfig } from '../config/schema';
import { ServerConfig as ServerConfigSchema } from '../config/schema';

export interface DevProviders {
  /** Name of the env var holding a PostgreSQL admin URL: prod-db then mints real roles. */
  postgresUrlEnv?: string;
  /** Group roles a prod-db grant joins (default: the built-in pg_read_all_data). */
  postgresRoles?: string[];
  /** The dev SSH CA's private key file: adds the `dev-ssh` system, certified by it. */
  sshCaKeyFile?: string;
  /**
   * A rota file (docs/on-call.md): whoever it puts on call now for schedule `primary` gets
   * prod-db for up to 1 h without review. Edit it to try on-call approval.
   */
  onCallFile?: string;
}

/** The demo catalog dev mode serves: one system per kind of policy, so every path can be tried. */
export function devConfig(issuer: string, audience: string, providers: DevProviders = {}): ServerConfig {
  const prodDbProvider = providers.postgresUrlEnv
    ? { type: 'postgres', settings: { adminUrl: { env: providers.postgresUrlEnv }, roles: providers.postgresRoles ?? ['pg_read_all_data'] } }
    : { type: 'demo', settings: { envVar: 'PROD_DB_TOKEN' } };
  const sshSystems = providers.sshCaKeyFile
    ? [
        {
          id: 'dev-ssh',
          name: 'Dev SSH host',
          description: 'Shell on a host that trusts the dev SSH CA (see README: pointing sshd at it).',
          risk: 'medium',
          provider: { type: 'ssh', settings: { caKey: { file: providers.sshCaKeyFile }, principals: ['{user}'], host: '127.0.0.1', port: 22 } },
          durations: { presets: ['15m', '1h'], max: '4h' },
          requesters: ['engineering'],
          approvers: ['sre-leads'],
          approvalsRequired: 1,
          autoApprove: { groups: ['sre-leads'], maxDuration: '1h' },
          justification: 'optional',
        },
      ]
    : [];
  return ServerConfigSchema.parse({
    issuer,
    audience,
    groupsClaim: 'groups',
    adminGroups: ['stint-admins'],
    auditorGroups: ['auditors'],
    credentialKey: { file: 'credential.key' },
    expiringNotice: '5m',
    // Read at every request (no cache), so an edit to the rota counts at once.
    ...(providers.onCallFile ? { onCall: { cacheSeconds: 0, sources: { rota: { type: 'file', path: providers.onCallFile } } } } : {}),
    systems: [
      {
        id: 'demo-sandbox',
        name: 'Sandbox',
        description: 'A throwaway environment; access is granted at once.',
        risk: 'low',
        provider: { type: 'demo', settings: { envVar: 'SANDBOX_TOKEN' } },
        durations: { presets: ['5m', '15m', '1h'], max: '2h' },
        requesters: ['engineering', 'sre-leads', 'security'],
        approvers: [],
        approvalsRequired: 0,
        justification: 'optional',
      },
      {
        id: 'staging-db',
        name: 'Staging database',
        description: 'Read-write access to the staging PostgreSQL.',
        risk: 'medium',
        provider: { type: 'demo', settings: { envVar: 'STAGING_DB_TOKEN' } },
        durations: { presets: ['15m', '1h', '4h'], max: '8h' },
        requesters: ['engineering'],
        approvers: ['sre-leads'],
        approvalsRequired: 1,
        autoApprove: { groups: ['sre-leads'], maxDuration: '1h' },
        justification: 'optional',
      },
      {
        id: 'prod-db',
        name: 'Production database',
        description: 'Production PostgreSQL as the app_readwrite role. Every session is audited.',
        risk: 'high',
        provider: prodDbProvider,
        durations: { presets: ['15m', '30m', '1h'], max: '2h' },
        requesters: ['engineering', 'sre-leads'],
        approvers: ['sre-leads'],
        approvalsRequired: 1,
        justification: 'required',
        ticketPattern: '^(OPS|INC)-[0-9]+$',
        breakGlass: { groups: ['sre-leads'] },
        ...(providers.onCallFile ? { autoApprove: { onCall: { source: 'rota', schedule: 'primary', maxDuration: '1h' } } } : {}),
        pendingTtl: '30m',
      },
      {
        id: 'payments-admin',
        name: 'Payments admin console',
        description: 'Refunds and payouts. Two approvers, one of them from security.',
        risk: 'critical',
        provider: { type: 'demo', settings: { envVar: 'PAYMENTS_ADMIN_TOKEN' } },
        durations: { presets: ['15m', '30m'], max: '1h' },
        requesters: ['engineering'],
        approvers: ['sre-leads', 'security'],
        approvalsRequired: 2,
        justification: 'required',
        pendingTtl: '1h',
      },
      {
        id: 'ops-console',
        name: 'Operations console',
        description: 'Deploys and feature flags. Approved access waits for you: start it within 8 hours, and the clock starts then.',
        risk: 'medium',
        provider: { type: 'demo', settings: { envVar: 'OPS_CONSOLE_TOKEN' } },
        durations: { presets: ['30m', '1h', '2h'], max: '4h' },
        requesters: ['engineering', 'sre-leads'],
        approvers: ['sre-leads'],
        approvalsRequired: 1,
        justification: 'optional',
        startWindow: '8h',
      },
      ...sshSystems,
      {
        id: 'incident',
        name: 'Incident response',
        description: `The production database and ${providers.sshCaKeyFile ? 'the dev SSH host' : 'the staging database'} together: one request, one review, one countdown.`,
        risk: 'high',
        provider: { type: 'bundle', settings: { systems: ['prod-db', providers.sshCaKeyFile ? 'dev-ssh' : 'staging-db'] } },
        durations: { presets: ['30m', '1h'], max: '2h' },
        requesters: ['engineering', 'sre-leads'],
        approvers: ['sre-leads'],
        approvalsRequired: 1,
        justification: 'required',
      },
    ],
  });
}

/**
 * `stint-server dev --catalog FILE`: systems of your own (YAML, `systems:` only, the same keys
 * as a production config) added to the demo catalog; one with a demo system's id replaces it.
 * To try a policy (a two-minute pending TTL, a provider of your own) without writing a whole
 * production config. Errors name the key and the line in FILE.
 */
export function withDevCatalog(base: ServerConfig, file: string): ServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  const top = parseDocument(text).toJS() as unknown;
  const keys = top && typeof top === 'object' ? Object.keys(top) : [];
  const extra = keys.filter((key) => key !== 'systems');
  if (extra.length > 0 || !keys.includes('systems')) {
    throw new ConfigError(file, [`a dev catalog holds only \`systems:\` (the dev server sets the rest)${extra.length ? `; remove ${extra.join(', ')}` : ''}`]);
  }
  // The catalog's text comes first, so the line numbers in errors are the file's own.
  const rest = `\nissuer: ${JSON.stringify(base.issuer)}\naudience: ${JSON.stringify(base.audience)}\ncredentialKey: { env: UNUSED_IN_DEV }\n`;
  const catalog = resolveRelativeFiles(parseConfigText(text + rest, file), dirname(resolve(file)));
  const ids = new Set(catalog.systems.map((system) => system.id));
  return { ...base, systems: [...base.systems.filter((system) => !ids.has(system.id)), ...catalog.systems] };
}
