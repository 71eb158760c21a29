import { DurationText, RiskLevel, SystemId } from '@stint/contract';
import { z } from 'zod';
import { AuditSinkConfig } from '../audit/sink-config';

/** Provider secrets are named, never written inline: an env var or a file holds the value. */
export const SecretRef = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type SecretRef = z.infer<typeof SecretRef>;

const Groups = z.array(z.string().min(1)).default([]);

export const ProviderConfig = z.strictObject({
  type: z.string().min(1),
  /** Checked again by the provider itself at boot; kept open here so providers own their settings. */
  settings: z.record(z.string(), z.unknown()).default({}),
});

/**
 * Where a source is called. https, except on the loopback interface (a source on the same host,
 * and the tests' vendor doubles): the call carries the source's token, which must not cross a
 * network in clear.
 */
const SourceUrl = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL; give an https:// URL' });
    return;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    ctx.addIssue({ code: 'custom', message: `must be an https:// URL (got ${url.protocol}//): the call carries the source's token` });
  }
});

/** Who says who is on call. Tokens are secret references, like every other secret here. */
export const OnCallSourceConfig = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('pagerduty'), apiUrl: SourceUrl.default('https://api.pagerduty.com'), token: SecretRef }),
    z.strictObject({ type: z.literal('opsgenie'), apiUrl: SourceUrl.default('https://api.opsgenie.com'), apiKey: SecretRef }),
    /** A rota file on this host (docs/on-call.md gives its format); relative to the config file. */
    z.strictObject({ type: z.literal('file'), path: z.string().min(1) }),
    /** The same rota format served over HTTP, with an optional bearer token. */
    z.strictObject({ type: z.literal('url'), url: SourceUrl, token: SecretRef.optional() }),
  ],
  { error: 'give type: pagerduty, opsgenie, file or url' },
);
export type OnCallSourceConfig = z.output<typeof OnCallSourceConfig>;

export const OnCallConfig = z.strictObject({
  sources: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'a source name: letters, digits, - and _'), OnCallSourceConfig).default({}),
  /** How long a source may take to answer; past it the request goes to review. */
  timeoutMs: z.number().int().min(100).max(30_000).default(3000),
  /** How long one answer about a schedule is reused, so a burst of requests asks once; 0 asks every time. */
  cacheSeconds: z.number().int().min(0).max(300).default(30),
});
export type OnCallConfig = z.output<typeof OnCallConfig>;

/** autoApprove.onCall: approve whoever is on call now for `schedule` in the source named `source`. */
const OnCallRule = z.strictObject({
  source: z.string().min(1),
  schedule: z.string().min(1),
  maxDuration: DurationText.optional(),
});

export const SystemConfig = z
  .strictObject({
    id: SystemId,
    name: z.string().min(1),
    description: z.string().default(''),
    risk: RiskLevel.default('medium'),
    provider: ProviderConfig,
    durations: z.strictObject({
      presets: z.array(DurationText).min(1, 'give at least one duration preset'),
      max: DurationText,
    }),
    requesters: Groups.describe('groups whose members may request; empty means nobody'),
    approvers: Groups,
    approvalsRequired: z.number().int().min(0).max(10).default(1),
    /**
     * Approval without review: for members of `groups` (up to `maxDuration`), and for whoever is
     * on call right now in an on-call source's schedule (up to `onCall.maxDuration`, else
     * `maxDuration`). Either or both; docs/on-call.md.
     */
    autoApprove: z
      .strictObject({
        groups: z.array(z.string().min(1)).min(1).optional(),
        maxDuration: DurationText.optional(),
        onCall: OnCallRule.optional(),
      })
      .optional(),
    justification: z.enum(['required', 'optional']).default('required'),
    ticketPattern: z
      .string()
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression')
      .optional(),
    breakGlass: z.strictObject({ groups: z.array(z.string().min(1)).min(1) }).optional(),
    pendingTtl: DurationText.default(3600),
    /**
     * Start when ready: an approved grant waits this long for its requester to start it (the
     * countdown begins at start); not started by then, it ends unstarted. Absent: the clock
     * starts at approval.
     */
    startWindow: DurationText.optional(),
  })
  .superRefine((system, ctx) => {
    for (const [i, preset] of system.durations.presets.entries()) {
      if (preset > system.durations.max) {
        ctx.addIssue({ code: 'custom', path: ['durations', 'presets', i], message: 'a preset is longer than durations.max' });
      }
    }
    if (system.approvalsRequired > 0 && system.approvers.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'approvalsRequired is above 0, so name at least one approver group' });
    }
    const auto = system.autoApprove;
    if (auto) {
      if (!auto.groups && !auto.onCall) {
        ctx.addIssue({ code: 'custom', path: ['autoApprove'], message: 'name groups, onCall or both: who is approved without review' });
      }
      if (auto.groups && auto.maxDuration === undefined) {
        ctx.addIssue({ code: 'custom', path: ['autoApprove', 'maxDuration'], message: 'give maxDuration: how long members of autoApprove.groups are approved for' });
      }
      if (auto.onCall && auto.onCall.maxDuration === undefined && auto.maxDuration === undefined) {
        ctx.addIssue({ code: 'custom', path: ['autoApprove', 'onCall', 'maxDuration'], message: 'give onCall.maxDuration (or autoApprove.maxDuration): how long someone on call is approved for' });
      }
      if (auto.maxDuration !== undefined && auto.maxDuration > system.durations.max) {
        ctx.addIssue({ code: 'custom', path: ['autoApprove', 'maxDuration'], message: 'longer than durations.max' });
      }
      if (auto.onCall?.maxDuration !== undefined && auto.onCall.maxDuration > system.durations.max) {
        ctx.addIssue({ code: 'custom', path: ['autoApprove', 'onCall', 'maxDuration'], message: 'longer than durations.max' });
      }
    }
  });
export type SystemConfig = z.output<typeof SystemConfig>;

/** A claim's name, or a dotted path into nested claims ("realm_access.roles"). */
const ClaimPath = z.string().min(1);

/**
 * How a token becomes a person: where the claims are read and which claim is what. IdPs
 * differ (glewlwyd puts groups in access tokens as "a,b" strings, Cognito names the claim
 * "cognito:groups", Entra may leave groups out and point elsewhere), so all of it is settings.
 */
export const IdentityConfig = z
  .strictObject({
    /**
     * Where groups, login, name and email come from: the access token's claims, the IdP's
     * userinfo endpoint (asked with the access token), RFC 7662 introspection, or the ID token
     * the app got at sign-in (sent beside the access token in X-Stint-Id-Token, for IdPs that
     * put groups there alone; it must be unexpired, so the IdP must issue a new one at refresh).
     */
    claimsFrom: z.enum(['access_token', 'userinfo', 'introspection', 'id_token']).default('access_token'),
    claims: z
      .strictObject({
        /** Defaults to the top-level groupsClaim. */
        groups: ClaimPath.optional(),
        /** A groups claim that is one string is split at this (glewlwyd: "a,b"). */
        groupsDelimiter: z.string().min(1).default(','),
        /** The person's login name: {user} in SSH principals and role names. Falls back to sub. */
        login: ClaimPath.default('preferred_username'),
        name: ClaimPath.default('name'),
        email: ClaimPath.default('email'),
      })
      .default({ groupsDelimiter: ',', login: 'preferred_username', name: 'name', email: 'email' }),
    /** Client credentials for RFC 7662 introspection: opaque access tokens, or claimsFrom introspection. */
    introspection: z.strictObject({ clientId: z.string().min(1), clientSecret: SecretRef }).optional(),
    /** How far the IdP's clock and this server's may differ. */
    clockTolerance: DurationText.default(60),
    /** How long the IdP's last good signing keys are used while it cannot be reached. */
    keysMaxStale: DurationText.default(24 * 3600),
    /**
     * Accept tokens that look like ID tokens (nonce, at_hash, or meant for the desktop client
     * alone). Off: an ID token that happens to carry the API's audience is not an access token.
     */
    acceptIdTokenTraits: z.boolean().default(false),
  })
  .superRefine((identity, ctx) => {
    if (identity.claimsFrom === 'introspection' && !identity.introspection) {
      ctx.addIssue({ code: 'custom', path: ['introspection'], message: 'claimsFrom is introspection, so give introspection.clientId and introspection.clientSecret' });
    }
  });
export type IdentityConfig = z.output<typeof IdentityConfig>;

export const ServerConfig = z
  .strictObject({
    issuer: z.url({ message: 'the issuer is the IdP URL, e.g. https://login.example.com' }),
    audience: z.string().min(1),
    groupsClaim: z.string().min(1).default('groups'),
    adminGroups: z.array(z.string().min(1)).default([]),
    auditorGroups: z.array(z.string().min(1)).default([]),
    identity: IdentityConfig.default(IdentityConfig.parse({})),
    /** Seals credentials at rest: 32 random bytes, base64, from an env var or a file. */
    credentialKey: SecretRef,
    /** Tell grantees this long before their deadline (the app adds its own reminders). */
    expiringNotice: DurationText.default(300),
    /** The public (PKCE) client desktop apps sign in with; served at /v1/client-config. */
    desktopClient: z
      .strictObject({
        clientId: z.string().min(1),
        scopes: z.array(z.string()).default(['openid', 'profile', 'email', 'offline_access']),
        authorizationParams: z.record(z.string(), z.string()).default({}),
        /**
         * Loopback ports the app's sign-in redirect listens on, tried in order, for IdPs that
         * match redirect URIs exactly (register http://127.0.0.1:PORT/callback for each).
         * Empty: any free port, for IdPs that allow any loopback port (RFC 8252).
         */
        redirectPorts: z.array(z.number().int().min(1024).max(65535)).max(10).default([]),
        /** The IdP requires a client secret for this native app; each person's app keeps it in their keychain. */
        clientSecretRequired: z.boolean().default(false),
      })
      .default({ clientId: 'stint-desktop', scopes: ['openid', 'profile', 'email', 'offline_access'], authorizationParams: {}, redirectPorts: [], clientSecretRequired: false }),
    /** Per signed-in person; 0 turns it off. */
    rateLimit: z.strictObject({ perMinute: z.number().int().min(0) }).default({ perMinute: 600 }),
    /**
     * How long a client may take: to send its headers, to send the whole request, and to keep an
     * idle connection open; and how often an address may fail to authenticate. Threat: slow
     * clients holding connections (and memory) without end, token guessing. The timeouts are read
     * at start (a reload does not change them); the limit on every request.
     */
    http: z
      .strictObject({
        headersTimeoutSeconds: z.number().int().positive().default(10),
        requestTimeoutSeconds: z.number().int().positive().default(30),
        keepAliveTimeoutSeconds: z.number().int().positive().default(65),
        /** Per address, for requests without a valid token (a token guesser, a misconfigured client); 0 turns it off. */
        unauthenticatedPerMinute: z.number().int().min(0).default(120),
      })
      .refine((http) => http.headersTimeoutSeconds <= http.requestTimeoutSeconds, 'headersTimeoutSeconds cannot be longer than requestTimeoutSeconds')
      .default({ headersTimeoutSeconds: 10, requestTimeoutSeconds: 30, keepAliveTimeoutSeconds: 65, unauthenticatedPerMinute: 120 }),
    /** Sources systems' autoApprove.onCall rules name (docs/on-call.md). */
    onCall: OnCallConfig.default({ sources: {}, timeoutMs: 3000, cacheSeconds: 30 }),
    /** Audit rows streamed to a syslog or HTTP sink as they are written (docs/insights.md). */
    auditSink: AuditSinkConfig.optional(),
    systems: z.array(SystemConfig).default([]),
  })
  .superRefine((config, ctx) => {
    bundleProblems(config.systems).forEach(({ index, message }) => ctx.addIssue({ code: 'custom', path: ['systems', index, 'provider', 'settings', 'systems'], message }));
    const seen = new Set<string>();
    const sources = Object.keys(config.onCall.sources);
    for (const [i, system] of config.systems.entries()) {
      if (seen.has(system.id)) ctx.addIssue({ code: 'custom', path: ['systems', i, 'id'], message: `duplicate system id "${system.id}"` });
      seen.add(system.id);
      const rule = system.autoApprove?.onCall;
      if (rule && !Object.hasOwn(config.onCall.sources, rule.source)) {
        ctx.addIssue({
          code: 'custom',
          path: ['systems', i, 'autoApprove', 'onCall', 'source'],
          message: `no on-call source is named "${rule.source}"; define it under onCall.sources (${sources.length > 0 ? `defined: ${sources.join(', ')}` : 'none is defined'})`,
        });
      }
    }
  })
  .transform((config) => ({ ...config, systems: expandBundles(config.systems) }));
export type ServerConfig = z.output<typeof ServerConfig>;

type SystemInput = z.output<typeof SystemConfig>;
const BUNDLE = 'bundle';
const bundleIds = (system: SystemInput): unknown => system.provider.settings.systems;

/**
 * A bundle (provider `bundle`, settings `systems: [ids]`) names two to ten other systems of
 * this config, none of them a bundle, each once.
 */
function bundleProblems(systems: readonly SystemInput[]): { index: number; message: string }[] {
  const problems: { index: number; message: string }[] = [];
  const byId = new Map(systems.map((s) => [s.id, s]));
  for (const [index, system] of systems.entries()) {
    if (system.provider.type !== BUNDLE) continue;
    const ids = bundleIds(system);
    if (!Array.isArray(ids) || ids.length < 2 || ids.length > 10 || !ids.every((id) => typeof id === 'string')) {
      problems.push({ index, message: 'a bundle names its systems: two to ten system ids, e.g. [prod-db, bastion]' });
      continue;
    }
    const seen = new Set<string>();
    for (const id of ids as string[]) {
      const member = byId.get(id);
      if (seen.has(id)) problems.push({ index, message: `${id} is named twice` });
      else if (id === system.id) problems.push({ index, message: 'a bundle cannot hold itself' });
      else if (!member) problems.push({ index, message: `no system is named "${id}" in this config` });
      else if (member.provider.type === BUNDLE) problems.push({ index, message: `${id} is itself a bundle; bundles hold systems, not other bundles` });
      seen.add(id);
    }
  }
  return problems;
}

/**
 * Copies each member's id, name and provider into its bundle's settings: the bundle's provider
 * builds its members from its own settings, so a reload that changes a member changes the
 * bundle's provider key too, and grants issued under the old settings are revoked by them.
 */
function expandBundles<S extends SystemInput>(systems: readonly S[]): S[] {
  const byId = new Map(systems.map((s) => [s.id, s]));
  return systems.map((system) => {
    if (system.provider.type !== BUNDLE) return system;
    const ids = bundleIds(system);
    if (!Array.isArray(ids)) return system;
    const members = ids.flatMap((id) => byId.get(String(id)) ?? []).map((m) => ({ id: m.id, name: m.name, provider: m.provider }));
    return { ...system, provider: { ...system.provider, settings: { systems: ids, members } } };
  });
}
