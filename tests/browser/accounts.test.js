// Account flows in the browser: sign up, sign in, change password, sign out everywhere, and an
// admin disabling a user, against the portal that scripts/test started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, ADMIN, ADMIN_PASSWORD, useBrowser } from './harness.js';

const PASSWORD = 'violet kettle marching owl';
const NEW_PASSWORD = 'copper lantern drifting fox';

const chrome = useBrowser();

const unique = (prefix) => `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

async function page() {
  const context = await chrome.browser.newContext();
  return context.newPage();
}

async function signUp(p, name, password = PASSWORD) {
  await p.goto(`${BASE}/login`);
  await p.getByRole('link', { name: 'Create an account' }).click();
  await p.getByLabel('Username').fill(name);
  await p.getByLabel('Email').fill(`${name}@example.com`);
  await p.getByLabel('Password', { exact: true }).fill(password);
  await p.getByLabel('Repeat the password').fill(password);
  await p.getByRole('button', { name: 'Create account' }).click();
}

async function signIn(p, name, password) {
  await p.goto(`${BASE}/login`);
  await p.getByLabel('Username').fill(name);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

test('sign up with field errors first, then for real', async () => {
  const p = await page();
  const name = unique('new');
  await signUp(p, name, 'password');
  assert.match(await p.locator('#password-error').textContent(), /at least 10 characters/);
  assert.equal(await p.getByLabel('Username').inputValue(), name, 'what was typed is kept');
  await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await p.getByLabel('Repeat the password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Create account' }).click();
  await p.waitForURL(`${BASE}/`);
  assert.equal(await p.getByRole('status').textContent(), `Welcome to Switchboard, ${name}!`);
  assert.equal(await p.getByRole('heading', { level: 1 }).textContent(), `Hello, ${name}!`);
});

test('change the password, and the old one stops working', async () => {
  const p = await page();
  const name = unique('pw');
  await signUp(p, name);
  await p.getByRole('link', { name: 'Settings' }).click();
  await p.getByLabel('Current password').fill(PASSWORD);
  await p.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await p.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
  await p.getByRole('button', { name: 'Change password' }).click();
  assert.match(await p.getByRole('status').textContent(), /Your password has been changed/);

  const other = await page();
  await signIn(other, name, PASSWORD);
  assert.equal(await other.getByRole('alert').textContent(), 'Incorrect username or password.');
  await signIn(other, name, NEW_PASSWORD);
  await other.waitForURL(`${BASE}/`);
});

test('sign out everywhere ends the other browser\'s session too', async () => {
  const laptop = await page();
  const name = unique('roam');
  await signUp(laptop, name);
  const phone = await page();
  await signIn(phone, name, PASSWORD);
  await phone.waitForURL(`${BASE}/`);

  await laptop.goto(`${BASE}/settings`);
  await laptop.getByRole('button', { name: 'Sign out everywhere' }).click();
  await laptop.waitForURL(`${BASE}/login`);
  assert.equal(await laptop.getByRole('status').textContent(), 'You have been signed out everywhere.');
  await phone.reload();
  assert.equal(new URL(phone.url()).pathname, '/login');
  assert.match(await phone.getByRole('status').textContent(), /Your session has ended/);
});

test('an admin disables a user, who is signed out at once', async () => {
  const user = await page();
  const name = unique('gone');
  await signUp(user, name);

  const admin = await page();
  await signIn(admin, ADMIN, ADMIN_PASSWORD);
  await admin.waitForURL(`${BASE}/`);
  await admin.getByRole('link', { name: 'Admin' }).click();
  // The list may run over several pages; walk them until the user's row shows up.
  while (await admin.getByRole('button', { name: `Disable ${name}` }).count() === 0) {
    await admin.getByRole('link', { name: 'Next page' }).click();
  }
  await admin.getByRole('button', { name: `Disable ${name}` }).click();
  assert.equal(await admin.getByRole('status').textContent(), `${name} has been disabled and signed out.`);

  await user.reload();
  assert.equal(new URL(user.url()).pathname, '/login');
  await signIn(user, name, PASSWORD);
  assert.match(await user.getByRole('alert').textContent(), /disabled/);

  // The audit log tells who did it, and the refused sign-in after it.
  await admin.goto(`${BASE}/admin`);
  await admin.getByRole('link', { name: 'Audit log' }).click();
  await admin.getByLabel('Username (who did it, or to whom)').fill(name);
  await admin.getByRole('button', { name: 'Show' }).click();
  const rows = await admin.locator('tbody tr').allTextContents();
  assert.match(rows[0], /Sign-in refused[\s\S]*account disabled/);
  assert.match(rows[1], new RegExp(`${ADMIN}[\\s\\S]*Disabled account`));
  assert.match(rows.at(-1), /Signed up/);
  await admin.getByLabel('Action').selectOption('account-disabled');
  await admin.getByRole('button', { name: 'Show' }).click();
  assert.equal(await admin.locator('tbody tr').count(), 1);
});
