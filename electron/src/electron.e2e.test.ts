// Launches the real app when an Electron binary is installed. On machines installed with
// ELECTRON_SKIP_BINARY_DOWNLOAD (CI here) it is skipped, and says so once.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { electronBinary } from '../electron-binary.mjs';

const binary = electronBinary();
const hasBinary = binary !== null;
if (!hasBinary) console.log('electron e2e skipped: the Electron binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD)');

describe.skipIf(!hasBinary)('Electron app (needs both builds and a keyring: scripts/with-keyring.sh)', () => {
  it('starts, serves the UI from app:// and exposes only the bridge', async () => {
    const { _electron } = await import('playwright-core');
    const appDir = fileURLToPath(new URL('..', import.meta.url));
    const app = await _electron.launch({ executablePath: binary!, args: [appDir], env: { ...process.env, STINT_SERVER_URL: 'http://127.0.0.1:9' } });
    try {
      expect(await app.evaluate(({ app: electronApp }) => electronApp.isReady())).toBe(true);
      // Launched by hand (not at login), the app opens its window on app://stint.
      const page = await app.firstWindow();
      expect(page.url()).toMatch(/^app:\/\/stint\/index\.html/);
      expect(await page.evaluate(() => Object.keys((window as unknown as { stint: object }).stint).sort())).toEqual(['call', 'onNotice', 'onState']);
      expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    } finally {
      await app.close();
    }
  });
});
