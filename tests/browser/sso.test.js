// Single sign-on in the browser: through the test OpenID provider's own login page (the
// portal's "Sign in with Test ID"), home, and out of both again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, useBrowser } from './harness.js';

const chrome = useBrowser();

const unique = (prefix) => `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

test('signs in at the provider, lands home, and signs out of both', async () => {
  const p = await (await chrome.browser.newContext()).newPage();
  const name = unique('sso');
  await p.goto(`${BASE}/login`);
  await p.getByRole('link', { name: 'Sign in with Test ID' }).click();

  // The provider's own login page, on its own origin.
  await p.waitForURL((url) => !url.href.startsWith(BASE));
  await p.locator('input[name=login]').fill(name);
  await p.locator('input[name=password]').fill('any password');
  await p.locator('button[type=submit]').click();

  await p.waitForURL(`${BASE}/`);
  assert.equal(await p.getByRole('heading', { level: 1 }).textContent(), `Hello, ${name}!`);
  await p.goto(`${BASE}/settings`);
  assert.match(await p.locator('main').textContent(), /You sign in with Test ID/);
  assert.match(await p.locator('main').textContent(), /Your groups there: staff, team-\d\./);

  await p.getByRole('button', { name: 'Sign out', exact: true }).click();
  await p.waitForURL((url) => !url.href.startsWith(BASE));
  await p.getByRole('button', { name: 'Yes, sign me out' }).click();
  await p.waitForURL(`${BASE}/login`);
  assert.match(await p.locator('main').textContent(), /You have been signed out\./);
});
