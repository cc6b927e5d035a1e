// Groups in the browser: an admin makes a group named like one of the test OpenID provider's
// groups and lets it use only the offline model; someone in that provider group signs on and
// is offered only that model. The group is deleted again at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, signedIn, useBrowser } from './harness.js';

const chrome = useBrowser();

test('a provider group, matched by name, decides which models its members see', async () => {
  // The test provider puts `<login>` in `team-<login length % 3>`: a login of 11 characters
  // is in team-2.
  const login = `g${Date.now().toString(36)}`.padEnd(11, 'x').slice(0, 11);
  const team = `team-${login.length % 3}`;

  const { page: admin } = await signedIn(chrome.browser);
  await admin.getByRole('link', { name: 'Admin' }).click();
  await admin.getByRole('link', { name: 'Groups' }).click();
  await admin.getByLabel('Name', { exact: true }).fill(team);
  const form = admin.locator('form', { has: admin.getByRole('button', { name: 'Create group' }) });
  await form.getByLabel('Only these:').check();
  await form.locator('input[name=model][value=offline]').check();
  await form.getByRole('button', { name: 'Create group' }).click();
  assert.match(await admin.getByRole('status').textContent(), new RegExp(`Created the group ${team}\\.`));

  try {
    const member = await (await chrome.browser.newContext()).newPage();
    await member.goto(`${BASE}/login`);
    await member.getByRole('link', { name: 'Sign in with Test ID' }).click();
    await member.waitForURL((url) => !url.href.startsWith(BASE));
    await member.locator('input[name=login]').fill(login);
    await member.locator('input[name=password]').fill('any');
    await member.locator('button[type=submit]').click();
    await member.waitForURL(`${BASE}/`);
    const offered = await member.locator('select[name=model] option').evaluateAll(
      (options) => options.map((o) => o.value));
    assert.deepEqual(offered, ['offline']);
  } finally {
    await admin.goto(`${BASE}/admin/groups`);
    await admin.getByRole('button', { name: `Delete ${team}` }).click();
    assert.match(await admin.getByRole('status').textContent(), /Deleted the group/);
  }
});
