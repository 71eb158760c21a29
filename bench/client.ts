// A signed-in client core against a dev server, as the benchmarks need it: the real keychain,
// a settings folder, and Chromium signing the user in at the dev IdP.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Notice } from '@stint/contract';
import { StintCore } from '../core/src/core';
import { runtimePaths } from '../core/src/runtime/paths';
import { ConfStore } from '../core/src/settings/store';
import { KeyringSecretStore } from '../core/src/vault/secret-store';
import { idpLoginOpener, launchChromium } from '../test-support/browser';
import { startDevServer, type DevServer, type DevServerOptions } from '../test-support/dev-server';

export interface BenchClient {
  core: StintCore;
  dev: DevServer;
  notices: { at: number; notice: Notice }[];
  stop(): Promise<void>;
}

export async function signedInClient(user = 'alice', server: DevServerOptions = {}): Promise<BenchClient> {
  const dev = await startDevServer(server);
  const browser = await launchChromium();
  const dir = mkdtempSync(join(tmpdir(), 'stint-bench-client-'));
  const notices: BenchClient['notices'] = [];
  const core = new StintCore({
    opener: idpLoginOpener(browser, user),
    secrets: new KeyringSecretStore({ service: `stint-bench-${user}-${process.pid}` }),
    store: new ConfStore({ cwd: join(dir, 'data') }),
    paths: runtimePaths({ STINT_RUNTIME_DIR: join(dir, 'run') }),
    notifier: { notify: (notice) => notices.push({ at: Date.now(), notice }) },
  });
  await core.updateSettings({ serverUrl: dev.serverUrl });
  await core.start();
  await core.signIn();
  await browser.close();
  while (core.getState().connection !== 'online') await new Promise((r) => setTimeout(r, 10));
  return {
    core,
    dev,
    notices,
    async stop() {
      await core.signOut().catch(() => undefined);
      await core.stop();
      await dev.stop();
    },
  };
}
