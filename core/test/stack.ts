import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Notice } from '@stint/contract';
import type { Browser } from 'playwright-core';
import { idpLoginOpener } from '../../test-support/browser';
import type { BrowserOpener } from '../src/auth/oidc';
import { StintCore } from '../src/core';
import { runtimePaths } from '../src/runtime/paths';
import { ConfStore } from '../src/settings/store';
import { KeyringSecretStore } from '../src/vault/secret-store';

export interface TestCore {
  core: StintCore;
  notices: Notice[];
  service: string;
  dir: string;
  /** Resolves with the first notice matching, waiting up to `ms`. */
  waitForNotice<K extends Notice['kind']>(kind: K, match?: (n: Extract<Notice, { kind: K }>) => boolean, ms?: number): Promise<Extract<Notice, { kind: K }>>;
}

/** A core as the app builds it: the real keychain (its own service name), a settings file, a runtime folder. */
export async function makeCore(options: { serverUrl: string; browser?: Browser; user: string; now?: () => number; manualClock?: boolean; dir?: string; service?: string; opener?: BrowserOpener }): Promise<TestCore> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `stint-core-${options.user}-`));
  const service = options.service ?? `stint-test-${options.user}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const notices: Notice[] = [];
  const waiters = new Set<() => void>();
  const core = new StintCore({
    opener: options.opener ?? idpLoginOpener(options.browser!, options.user),
    secrets: new KeyringSecretStore({ service }),
    store: new ConfStore({ cwd: join(dir, 'data') }),
    paths: runtimePaths({ STINT_RUNTIME_DIR: join(dir, 'run') }),
    notifier: {
      notify: (notice) => {
        notices.push(notice);
        for (const wake of waiters) wake();
      },
    },
    now: options.now,
    manualClock: options.manualClock,
  });
  await core.updateSettings({ serverUrl: options.serverUrl });
  return {
    core,
    notices,
    service,
    dir,
    waitForNotice(kind, match = () => true, ms = 5000) {
      type N = Extract<Notice, { kind: typeof kind }>;
      return new Promise<N>((resolve, reject) => {
        const check = () => {
          const found = notices.find((n): n is N => n.kind === kind && match(n as N));
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${kind} notice within ${ms} ms; got: ${notices.map((n) => n.kind).join(', ') || 'none'}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}

/** What `secret-tool` (libsecret, outside Stint) finds in the keychain for this account. */
export function keychainLookup(service: string, account: string): string | null {
  const result = spawnSync('secret-tool', ['lookup', 'service', service, 'username', account], { encoding: 'utf8' });
  return result.status === 0 && result.stdout ? result.stdout : null;
}

export async function until<T>(probe: () => T | undefined | null | false, ms = 5000, stepMs = 5): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
