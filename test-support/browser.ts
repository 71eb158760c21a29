// Chromium from Debian, driven by playwright-core, playing the person's "system browser" at the
// identity provider's login and consent pages (MACHINE.md: never `npx playwright install`).
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.STINT_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

export interface LoginOpener {
  open(url: string): Promise<void>;
  /** The page the browser ended on (the app's "return to Stint" page after a good sign-in). */
  lastPage(): Page | null;
}

/** Signs a demo user in at the dev IdP: login form, then consent, as a person would click. */
export function idpLoginOpener(browser: Browser, user: string, password = `${user}-dev-password`, onLoginPage?: (page: Page) => Promise<void>): LoginOpener {
  let page: Page | null = null;
  return {
    lastPage: () => page,
    async open(url) {
      const context = await browser.newContext();
      page = await context.newPage();
      await page.goto(url);
      for (let step = 0; step < 4; step++) {
        const login = page.locator('input[name="login"]');
        if (await login.count()) {
          await onLoginPage?.(page);
          await login.fill(user);
          await page.locator('input[name="password"]').fill(password);
          await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').first().click()]);
          continue;
        }
        const submit = page.locator('button[type="submit"]');
        if ((await submit.count()) && /consent|authorize|continue/i.test(await page.content())) {
          await Promise.all([page.waitForNavigation(), submit.first().click()]);
          continue;
        }
        break;
      }
    },
  };
}
