// Start at login. macOS and Windows: Electron's setLoginItemSettings. Linux has no such API
// in Electron, so the app writes a freedesktop autostart entry itself (the XDG Autostart
// spec, honoured by GNOME, KDE, Xfce and others), and removes it when the setting is off.
import { join } from 'node:path';

/** Where the autostart entry lives: $XDG_CONFIG_HOME/autostart, else ~/.config/autostart. */
export function autostartPath(env: NodeJS.ProcessEnv, home: string): string {
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'autostart', 'stint.desktop');
}

/**
 * The entry's text. `command` is what starts this app: an AppImage's own path (the running
 * binary sits in a temporary mount), or Electron and the app folder in a development build;
 * `--hidden` is added, to start it in the tray, windowless.
 */
export function autostartEntry(command: readonly string[]): string {
  // The Exec key's quoting rules: double quotes around an argument, with \\, \", \` and \$ escaped.
  const quoted = command.map((arg) => `"${arg.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`).join(' ');
  return ['[Desktop Entry]', 'Type=Application', 'Name=Stint', 'Comment=Just-in-time access from your tray', `Exec=${quoted} --hidden`, 'Terminal=false', 'X-GNOME-Autostart-enabled=true', ''].join('\n');
}
