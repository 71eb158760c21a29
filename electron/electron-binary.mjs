// Where the Electron binary is, or null, WITHOUT requiring the `electron` package: since
// Electron 45 its main export tries to download a missing binary, which fails (and is slow)
// on machines installed with ELECTRON_SKIP_BINARY_DOWNLOAD.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export function electronBinary() {
  try {
    const dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    const pathFile = join(dir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}
