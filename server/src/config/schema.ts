import { DurationText, RiskLevel, SystemId } from '@stint/contract';
import { z } from 'zod';

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
    autoApprove: z
      .strictObject({ groups: z.array(z.string().min(1)).min(1), maxDuration: DurationText })
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
    if (system.autoApprove && system.autoApprove.maxDuration > system.durations.max) {
      ctx.addIssue({ code: 'custom', path: ['autoApprove', 'maxDuration'], message: 'longer than durations.max' });
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
     * userinfo endpoint (asked with the access token), or RFC 7662 introspection.
     */
    claimsFrom: z.enum(['access_token', 'userinfo', 'introspection']).default('access_token'),
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
    systems: z.array(SystemConfig).default([]),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    for (const [i, system] of config.systems.entries()) {
      if (seen.has(system.id)) ctx.addIssue({ code: 'custom', path: ['systems', i, 'id'], message: `duplicate system id "${system.id}"` });
      seen.add(system.id);
    }
  });
export type ServerConfig = z.output<typeof ServerConfig>;
