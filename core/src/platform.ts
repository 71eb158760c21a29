// What core needs from the computer it runs on. The Electron app, `stint agent` and the tests
// each hand core their own (host.ts builds the real one).
import type { Notice } from '@stint/contract';
import type { BrowserOpener } from './auth/oidc';
import type { RuntimePaths } from './runtime/paths';
import type { KeyValueStore } from './settings/store';
import type { SshAgent } from './ssh/agent';
import type { SecretStore } from './vault/secret-store';

/** Shows a notice to the person: Electron's Notification, a CLI line, or a test's recorder. */
export interface Notifier {
  notify(notice: Notice): void;
}

/** Structured logging in pino's shape; core never passes it a secret. */
export interface CoreLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const silentLog: CoreLog = { info() {}, warn() {}, error() {} };

export interface CorePlatform {
  opener: BrowserOpener;
  notifier?: Notifier;
  secrets: SecretStore;
  store: KeyValueStore;
  paths: RuntimePaths;
  log?: CoreLog;
  now?: () => number;
  fetch?: typeof fetch;
  /** The ssh-agent to load SSH grant keys into, when one is running. */
  sshAgent?: SshAgent | null;
  /** Tests drive the expiry clock by hand (clock.check()). */
  manualClock?: boolean;
}
