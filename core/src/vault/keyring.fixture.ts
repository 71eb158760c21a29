// Looks at the real keyring from outside Stint, with secret-tool (libsecret-tools), so the
// vault's tests check what is actually in the Secret Service rather than what our own code
// reports. Tests run under scripts/with-keyring.sh (see MACHINE.md).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';

/** The attributes @napi-rs/keyring puts on a Secret Service item (checked with `secret-tool search --all`). */
export const ITEM_ATTRIBUTES = { service: 'service', account: 'username' } as const;

/** A service name no other test file uses, so parallel files do not see each other's items. */
export function testService(): string {
  return `stint-test-${randomUUID()}`;
}

/** Fails the test run with instructions when there is no Secret Service to test against. */
export function requireSecretService(): void {
  const probe = spawnSync(
    'dbus-send',
    ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.secrets'],
    { encoding: 'utf8' },
  );
  if (!probe.stdout?.includes('boolean true')) {
    throw new Error(
      'These tests need a running Secret Service. From the repository root run: ' +
        'dbus-run-session -- bash scripts/with-keyring.sh npx vitest run core/src/vault',
    );
  }
}

/** The secret stored for service/account, as secret-tool prints it, or null when there is none. */
export function secretToolLookup(service: string, account: string): string | null {
  const done = spawnSync('secret-tool', ['lookup', ITEM_ATTRIBUTES.service, service, ITEM_ATTRIBUTES.account, account], { encoding: 'utf8' });
  if (done.status !== 0) return null; // secret-tool exits 1 when nothing matches
  return done.stdout;
}

/** Everything `secret-tool search --all` prints for a service (labels, attributes, secrets). */
export function secretToolSearch(service: string): string {
  const done = spawnSync('secret-tool', ['search', '--all', ITEM_ATTRIBUTES.service, service], { encoding: 'utf8' });
  return `${done.stdout}${done.stderr}`;
}

/** Removes every item of a test service (cleanup; the keyring is per run anyway). */
export function secretToolClear(service: string): void {
  spawnSync('secret-tool', ['clear', ITEM_ATTRIBUTES.service, service]);
}
