// What every browser test file shares: the portal's address, where screenshots go, and one
// headless chromium (Debian's, driven by playwright-core) launched before the file's tests
// and closed after them. playwright gives each context a fresh, temporary profile.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const BASE = process.env.SWITCHBOARD_TEST_URL;
export const SHOTS = new URL('./screenshots/', import.meta.url).pathname;
// The test portals' bootstrap admin (tests/services/portal.sh).
export const ADMIN = 'tester';
export const ADMIN_PASSWORD = 'tester-password-123';

// Registers the hooks; the returned object's `browser` is set once the file's tests start.
export function useBrowser() {
  const handle = { browser: null };
  before(async () => {
    assert.ok(BASE, 'SWITCHBOARD_TEST_URL is not set: run scripts/test, which starts the portal');
    mkdirSync(SHOTS, { recursive: true });
    handle.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
  });
  after(async () => {
    await handle.browser?.close();
  });
  return handle;
}

// A new browser context signed in as the bootstrap admin, and its page (on the home page).
export async function signedIn(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  await page.getByLabel('Username').fill(ADMIN);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${BASE}/`);
  return { context, page };
}
