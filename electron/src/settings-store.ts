// Settings inside the app: core's ConfStore (owner-only folder and file, flat keys, a corrupt
// file reported, never cleared) over electron-store instead of plain conf. One code path, so
// the app's settings file gets exactly the protections core's own store gives it.
import { ConfStore } from '@stint/core';
import Store from 'electron-store';

/** core's KeyValueStore in Electron: electron-store (a Conf subclass) under core's ConfStore. */
export function electronSettingsStore(options: { cwd: string; name?: string }): ConfStore {
  return new ConfStore({
    cwd: options.cwd,
    configName: options.name ?? 'settings',
    // electron-store calls the file `name` and maps it to conf's `configName` itself.
    create: ({ configName, ...conf }) => new Store<Record<string, unknown>>({ ...conf, name: configName }),
  });
}
