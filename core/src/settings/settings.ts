// User settings, validated against the contract's schema on the way in and on the way out.
// The file is the user's own and may be hand-edited or left by an older build, so reading
// never fails: each field that does not validate falls back to its default on its own.
import { isLoopbackHostname, LOOPBACK_HOSTNAMES, Settings, SettingsPatch } from '@stint/contract';
import { z } from 'zod';
import type { KeyValueStore } from './store';

const SETTINGS_KEY = 'settings';

export const DEFAULT_SETTINGS: Settings = deepFreeze({
  serverUrl: 'http://127.0.0.1:8787',
  remindersSeconds: [600, 60],
  notifications: { reviews: true, decisions: true, reminders: true, receipts: true },
  pinned: [],
  startAtLogin: false,
});

/**
 * The contract accepts any URL; core also refuses plain http to anything but this machine.
 * Threat: the access and refresh tokens travel as bearer headers to this URL, so a mistyped
 * or planted `http://` server address would send them in clear text over the network.
 */
function serverUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && isLoopbackHostname(url.hostname)) return null;
  return `must use https:// (plain http:// only to ${LOOPBACK_HOSTNAMES.join(', ')}), because sign-in tokens are sent to it`;
}

export function readSettings(store: KeyValueStore): Settings {
  let stored: unknown;
  try {
    stored = store.get<unknown>(SETTINGS_KEY);
  } catch {
    // The file went bad while running (ConfStore reports that at start-up, with its path);
    // callers such as the reminder clock should keep working on defaults meanwhile.
    stored = undefined;
  }
  const merged = fieldByField(Settings, stored, DEFAULT_SETTINGS) as Settings;
  if (serverUrlProblem(merged.serverUrl) !== null) merged.serverUrl = DEFAULT_SETTINGS.serverUrl;
  return merged;
}

export function updateSettings(store: KeyValueStore, patch: unknown): Settings {
  const parsed = SettingsPatch.safeParse(patch);
  if (!parsed.success) throw new Error(`Invalid settings: ${describeIssues(parsed.error)}`);
  const changes = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined));
  const urlProblem = typeof changes.serverUrl === 'string' ? serverUrlProblem(changes.serverUrl) : null;
  if (urlProblem !== null) throw new Error(`Invalid settings: serverUrl ${urlProblem}.`);
  // Validate the whole result before writing, so a bad patch can never leave a bad file.
  const next = Settings.parse({ ...readSettings(store), ...changes });
  store.set(SETTINGS_KEY, next);
  return next;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** Keeps every field of `value` that its schema accepts and takes the rest from `fallback`. */
function fieldByField(schema: z.ZodObject, value: unknown, fallback: object): Record<string, unknown> {
  const stored = isRecord(value) ? value : {};
  const defaults = fallback as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const [key, fieldSchema] of Object.entries(schema.shape)) {
    const fallbackValue = defaults[key];
    if (fieldSchema instanceof z.ZodObject && isRecord(fallbackValue)) {
      result[key] = fieldByField(fieldSchema, stored[key], fallbackValue);
      continue;
    }
    const parsed = (fieldSchema as z.ZodType).safeParse(stored[key]);
    result[key] = parsed.success ? parsed.data : structuredClone(fallbackValue);
  }
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
