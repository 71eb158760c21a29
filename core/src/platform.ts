import type { Notice } from '@stint/contract';

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
