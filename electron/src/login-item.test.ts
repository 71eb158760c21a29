import { describe, expect, it } from 'vitest';
import { autostartEntry, autostartPath } from './login-item';

describe('start at login on Linux (XDG autostart)', () => {
  it('writes to the user’s autostart folder', () => {
    expect(autostartPath({}, '/home/ana')).toBe('/home/ana/.config/autostart/stint.desktop');
    expect(autostartPath({ XDG_CONFIG_HOME: '/cfg' }, '/home/ana')).toBe('/cfg/autostart/stint.desktop');
  });

  it('starts the app in the tray, quoting a path a shell or the launcher could misread', () => {
    expect(autostartEntry(['/opt/Stint/stint'])).toContain('Exec="/opt/Stint/stint" --hidden\n');
    // A development build: Electron and the app's folder.
    expect(autostartEntry(['/repo/node_modules/electron/dist/electron', '/repo/electron'])).toContain('Exec="/repo/node_modules/electron/dist/electron" "/repo/electron" --hidden\n');
    const odd = autostartEntry(['/home/ana/Apps/Stint $HOME "x".AppImage']);
    expect(odd).toContain('Exec="/home/ana/Apps/Stint \\$HOME \\"x\\".AppImage" --hidden');
    expect(odd.startsWith('[Desktop Entry]\nType=Application\nName=Stint\n')).toBe(true);
  });
});
