// Renders a page in headless Chromium (Debian's, through playwright-core)
// and reports what a reader would see: the rendered text of the body, and
// whether the paywall box is visible. Saves a screenshot.
// usage: node browser.mjs URL SCREENSHOT.png [BEARER_TOKEN]
import { chromium } from 'playwright-core';

const [url, shot, token] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext(token ? { extraHTTPHeaders: { Authorization: `Bearer ${token}` } } : {});
  const page = await context.newPage();
  const response = await page.goto(url, { waitUntil: 'load', timeout: 15000 });
  const text = await page.evaluate(() => document.body.innerText);
  const box = await page.$('.paywall-box');
  const boxVisible = box ? await box.isVisible() : false;
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ status: response.status(), boxVisible, text }));
} finally {
  await browser.close();
}
