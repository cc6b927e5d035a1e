// Sign in, see the greeting, sign out, see the sign-in page with its message, in Debian's
// chromium driven by playwright-core, against the portal that scripts/test started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, ADMIN, ADMIN_PASSWORD, useBrowser } from './harness.js';

const USER = ADMIN;
const PASSWORD = ADMIN_PASSWORD;

const chrome = useBrowser();

async function signIn(page) {
  await page.goto(`${BASE}/`);
  assert.equal(new URL(page.url()).pathname, '/login', 'signed out: the home page sends us to sign in');
  await page.getByLabel('Username').fill(USER);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${BASE}/`);
}

test('sign in, see the greeting, sign out, see the message', async () => {
  const context = await chrome.browser.newContext();
  const page = await context.newPage();
  await signIn(page);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), `Hello, ${USER}!`);
  await page.screenshot({ path: `${SHOTS}home.png`, fullPage: true });

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${BASE}/login`);
  assert.equal(await page.getByRole('status').textContent(), 'You have been signed out.');
  await page.screenshot({ path: `${SHOTS}signed-out.png`, fullPage: true });

  await page.reload();
  assert.equal(await page.getByRole('status').count(), 0, 'the message shows once');
  await page.goto(`${BASE}/`);
  assert.equal(new URL(page.url()).pathname, '/login', 'signed out for real');
  await context.close();
});

test('a wrong password shows the error beside the form and keeps the username', async () => {
  const context = await chrome.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  await page.getByLabel('Username').fill(USER);
  await page.getByLabel('Password').fill('wrong password');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${BASE}/login` && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  assert.equal(response.status(), 401);
  assert.equal(await page.getByRole('alert').textContent(), 'Incorrect username or password.');
  assert.equal(await page.getByLabel('Username').inputValue(), USER);
  assert.equal(await page.getByLabel('Password').inputValue(), '');
  await context.close();
});

test('the sign-in form works from the keyboard alone', async () => {
  const context = await chrome.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  // The username field takes focus on arrival; Tab moves on to the password, Enter submits.
  await page.waitForFunction(() => document.activeElement?.id === 'username');
  await page.keyboard.type(USER);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  const alert = await page.getByRole('alert').count() ? await page.getByRole('alert').textContent() : '';
  assert.equal(new URL(page.url()).pathname, '/', `signed in (the page said: ${alert})`);
  assert.match(await page.getByRole('heading', { level: 1 }).textContent(), /Hello/);
  await context.close();
});

test('readable on a phone, and dark when the system is', async () => {
  const context = await chrome.browser.newContext({
    viewport: { width: 360, height: 740 },
    colorScheme: 'dark',
  });
  const page = await context.newPage();
  await signIn(page);
  const layout = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    width: window.innerWidth,
    background: getComputedStyle(document.body).backgroundColor,
  }));
  assert.ok(layout.scrollWidth <= layout.width, `no sideways scrolling: ${JSON.stringify(layout)}`);
  assert.equal(layout.background, 'rgb(18, 20, 25)', 'the dark palette is in use');
  await page.screenshot({ path: `${SHOTS}phone-dark.png`, fullPage: true });

  await page.emulateMedia({ colorScheme: 'light' });
  const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(light, 'rgb(246, 247, 249)');
  await context.close();
});
