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

export const ServerConfig = z
  .strictObject({
    issuer: z.url({ message: 'the issuer is the IdP URL, e.g. https://login.example.com' }),
    audience: z.string().min(1),
    groupsClaim: z.string().min(1).default('groups'),
    adminGroups: z.array(z.string().min(1)).default([]),
    auditorGroups: z.array(z.string().min(1)).default([]),
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
      })
      .default({ clientId: 'stint-desktop', scopes: ['openid', 'profile', 'email', 'offline_access'], authorizationParams: {} }),
    rateLimit: z.strictObject({ perMinute: z.number().int().min(0) }).default({ perMinute: 600 }),
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
