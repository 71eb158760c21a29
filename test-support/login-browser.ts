// A "system browser" for STINT_BROWSER in tests: signs a demo user in at the dev IdP with
// Chromium, then closes. Usage: tsx test-support/login-browser.ts <user> <url>
import { idpLoginOpener, launchChromium } from './browser';

const [user, url] = process.argv.slice(2);
if (!user || !url) throw new Error('usage: login-browser.ts <user> <url>');
const browser = await launchChromium();
try {
  const opener = idpLoginOpener(browser, user);
  await opener.open(url);
  await opener.lastPage()?.waitForLoadState();
} finally {
  await browser.close();
}
