// Run in a child process by keychain-unavailable.test.ts (via `node --import tsx`), because
// the keychain a process sees is fixed by its environment (DBUS_SESSION_BUS_ADDRESS) and,
// for the locked case, the keyring must belong to that child alone. Prints one JSON line.
//   argv: <mode: unavailable | locked | first-run> <settings folder> <keychain service> <secret>
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { StintCore } from '../core';
import { runtimePaths } from '../runtime/paths';
import { updateSettings } from '../settings/settings';
import { ConfStore } from '../settings/store';
import { KeyringSecretStore } from './secret-store';
import { Vault } from './vault';

type Outcome = { ok: true; value: unknown } | { ok: false; name: string; message: string };

async function attempt(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    return { ok: false, name: e.name, message: e.message };
  }
}

/** Locks the keyring's default collection, as a screen lock or `secret-tool lock` would. */
function lockDefaultCollection(): void {
  const dbus = (...args: string[]) =>
    execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets', ...args], {
      encoding: 'utf8',
      timeout: 10_000,
    });
  const alias = dbus('org.freedesktop.Secret.Service.ReadAlias', 'string:default');
  const collection = /object path "([^"]+)"/.exec(alias)?.[1];
  if (!collection || collection === '/') throw new Error(`no default collection: ${alias}`);
  dbus('org.freedesktop.Secret.Service.Lock', `array:objpath:${collection}`);
}

const [mode, folder, service, secret] = process.argv.slice(2);
if (!mode || !folder || !service || !secret) throw new Error('usage: keychain-child.fixture.ts <mode> <folder> <service> <secret>');

const settings = new ConfStore({ cwd: folder });
// A settings file exists (so the test has a file to scan) before the keychain is touched.
updateSettings(settings, { startAtLogin: true });
const secrets = new KeyringSecretStore({ service });
const vault = new Vault(secrets, settings);
const entry = {
  grantId: '8a6e0804-2171-4f2f-9d5d-4b4c3f2d1e0a',
  requestId: '0b3f3c52-8f0e-4c8e-8d7a-2f2a5a6b7c8d',
  systemId: 'orders-db',
  startsAt: '2026-01-01T10:00:00.000Z',
  expiresAt: '2026-01-01T11:00:00.000Z',
  envNames: ['PGPASSWORD'],
  hasSshKey: false,
};
const result: Record<string, unknown> = {};

if (mode === 'locked') {
  // Stored while unlocked, so the reads below are of items that do exist.
  await secrets.set('grant:present', secret);
  await vault.store(entry, { env: { PGPASSWORD: secret }, fields: {} });
  lockDefaultCollection();
  result.readPresent = await attempt(() => secrets.get('grant:present'));
  result.vaultRead = await attempt(() => vault.read(entry.grantId));
  result.setNew = await attempt(() => secrets.set('grant:new', secret));
  result.deletePresent = await attempt(() => secrets.delete('grant:present'));
  result.wipe = await attempt(() => vault.wipe(entry.grantId));
  result.entriesAfterWipe = vault.entries().map((e) => e.grantId);
} else if (mode === 'unavailable') {
  result.constructed = true; // the constructor above did not throw: entries are made lazily
  result.set = await attempt(() => secrets.set('grant:direct', secret));
  result.get = await attempt(() => secrets.get('grant:direct'));
  result.delete = await attempt(() => secrets.delete('grant:direct'));
  result.store = await attempt(() => vault.store(entry, { env: { PGPASSWORD: secret }, fields: { password: secret } }));
  result.saveRefreshToken = await attempt(() => vault.saveRefreshToken(`refresh-${secret}`));
  result.entries = vault.entries();
} else if (mode === 'first-run') {
  // The app's core on a first run: nothing saved, no keychain to reach, no server needed yet.
  let opened = 0;
  const core = new StintCore({
    opener: { open: async () => void opened++ },
    secrets,
    store: settings,
    paths: runtimePaths({ STINT_RUNTIME_DIR: join(folder, 'run') }),
  });
  await core.start();
  result.authAtStart = core.getState().auth;
  result.signIn = await attempt(() => core.signIn());
  result.browserOpened = opened;
  result.authAfterSignIn = core.getState().auth;
  await core.stop();
} else {
  throw new Error(`unknown mode ${mode}`);
}
result.settingsPath = settings.path;
process.stdout.write(`${JSON.stringify(result)}\n`);
