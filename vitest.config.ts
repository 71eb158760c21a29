import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'contract/**/*.test.ts',
      'node-shared/**/*.test.ts',
      'server/**/*.test.ts',
      'core/**/*.test.ts',
      'cli/**/*.test.ts',
      'electron/**/*.test.ts',
      'renderer/**/*.test.{ts,tsx}',
      'scripts/**/*.test.ts',
      'test-support/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/.tsbuild/**', '**/dist/**'],
    // One PostgreSQL cluster for the whole run; tests get its URL with inject('pgAdminUrl').
    globalSetup: ['./test-support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Forks, not threads: tests start servers, spawn processes and load native modules
    // (better-sqlite3), which are safer per process than per worker thread.
    pool: 'forks',
    // electron-store imports `electron`, which has no binary here: inlined, its import goes
    // through vitest, so electron/src/settings-store.test.ts can hand it a named test double.
    server: { deps: { inline: ['electron-store'] } },
  },
});
