// The end-to-end journeys (issue: End to end): real people through real parts, nothing mocked
// between them. `npm test` runs this after the unit and integration suites, inside the same
// private Secret Service session (scripts/test.sh); alone:
//   dbus-run-session -- bash scripts/with-keyring.sh npx playwright test -c e2e
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS } from '../test-support/browser';

export default defineConfig({
  testDir: './journeys',
  // One worker: the journeys share one stack (server, PostgreSQL, sshd, three people's agents)
  // the way one team shares one Stint, and the after-journeys checks read what they all left.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 150_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  outputDir: './artifacts/test-results',
  globalSetup: './global-setup.ts',
  use: {
    browserName: 'chromium',
    headless: true,
    // Debian's Chromium (MACHINE.md): Playwright's own browser download does not work here.
    launchOptions: { executablePath: process.env.STINT_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS },
    viewport: { width: 1100, height: 760 },
    actionTimeout: 15_000,
  },
});
