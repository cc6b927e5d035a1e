// Folders in a real browser: one made from the home page and given a default model and
// system prompt, a conversation started in it (streamed by the page's script), listed there
// and not on the recent list, then moved back out from its own page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, useBrowser, signedIn } from './harness.js';

const chrome = useBrowser();

test('a folder holds the conversations started in it, with its own model and system prompt', async () => {
  const { context, page } = await signedIn(chrome.browser);
  const name = `Trips ${Date.now() % 100000}`;
  await page.getByLabel('New folder').fill(name);
  await page.getByRole('button', { name: 'Make the folder' }).click();
  await page.waitForURL(/\/folders\/[A-Za-z0-9_-]{16}$/);
  const folderPath = new URL(page.url()).pathname;
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), name);

  await page.getByLabel('Model its new conversations start with').selectOption({ label: 'Fake echo' });
  await page.getByLabel('System prompt its new conversations start with (optional)').fill('Answer as a travel agent.');
  await page.getByRole('button', { name: 'Save the folder\'s settings' }).click();
  await page.getByText('The folder\'s settings are saved.').waitFor();

  // The new-conversation form starts from the folder's settings.
  const model = page.getByLabel('Model', { exact: true });
  assert.equal(await model.locator('option:checked').textContent(), 'Fake echo');
  assert.equal(await page.locator('#system').inputValue(), 'Answer as a travel agent.');
  const title = `Lisbon in May ${Date.now() % 100000}`;
  await page.getByLabel('Message', { exact: true }).fill(title);
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}#latest$/);
  await page.locator('#log[data-live="false"]').waitFor();
  const conversation = new URL(page.url()).pathname;
  await page.getByText(`In the folder ${name}.`).waitFor();
  assert.match(await page.locator('#log li.assistant').last().textContent(), /You said: Lisbon in May/);

  // Listed in its folder, not with the recent ones.
  await page.goto(`${BASE}${folderPath}`);
  assert.equal(await page.getByRole('link', { name: title }).count(), 1);
  await page.goto(`${BASE}/`);
  const recent = page.locator('section[aria-labelledby="list-heading"]');
  assert.equal(await recent.getByRole('link', { name: title }).count(), 0);
  assert.equal(await page.getByRole('link', { name }).count(), 1, 'the folder is listed');

  // Moved back out from its page: on the recent list again, gone from the folder.
  await page.goto(`${BASE}${conversation}`);
  await page.locator('details.options').evaluate((d) => { d.open = true; });
  await page.getByLabel('Folder', { exact: true }).selectOption({ label: 'None (the recent list)' });
  await page.getByRole('button', { name: 'Move' }).click();
  await page.getByText('It is back on the list of recent conversations.').waitFor();
  await page.goto(`${BASE}/`);
  assert.equal(await recent.getByRole('link', { name: title }).count(), 1);
  await page.goto(`${BASE}${folderPath}`);
  assert.equal(await page.getByRole('link', { name: title }).count(), 0);
  await context.close();
});
