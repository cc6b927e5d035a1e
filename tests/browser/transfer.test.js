// Moving conversations in a real browser: an export downloaded and uploaded again through the
// import form, and a share link opened by someone signed out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, SHOTS, useBrowser, signedIn } from './harness.js';

const chrome = useBrowser();


test('an export downloads, and importing it again adds nothing', async () => {
  const { context, page } = await signedIn(chrome.browser, { acceptDownloads: true });
  await page.getByLabel('Message', { exact: true }).fill('Something to export');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\//);
  await page.goto(`${BASE}/settings`);
  await page.getByRole('link', { name: 'Export and import' }).click();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download all conversations (JSON)' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^switchboard-\d{4}-\d{2}-\d{2}\.json$/);
  const file = await download.path();
  const exported = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(exported.format, 'switchboard-export');
  assert.ok(exported.conversations.some((c) => c.title === 'Something to export'));

  await page.getByLabel('Export file').setInputFiles(file);
  await page.getByRole('button', { name: 'Import' }).click();
  await page.waitForURL(`${BASE}/`);
  assert.match(await page.locator('#flash').textContent(), /Nothing new/);

  await page.goto(`${BASE}/import`);
  await page.getByLabel('Export file').setInputFiles({
    name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format": 1'),
  });
  await page.getByRole('button', { name: 'Import' }).click();
  assert.match(await page.locator('#import-error').textContent(), /not valid JSON.*Nothing was imported/);
  await page.screenshot({ path: `${SHOTS}import-refused.png`, fullPage: true });
  await context.close();
});

test('a shared conversation opens for someone signed out, until sharing stops', async () => {
  const { context, page } = await signedIn(chrome.browser, { acceptDownloads: true });
  await page.getByLabel('Message', { exact: true }).fill('Worth sharing');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\//);
  await page.locator('summary', { hasText: 'Conversation settings' }).click();
  await page.getByRole('button', { name: 'Share a read-only link' }).click();
  const link = await page.locator('#share-link').getAttribute('href');

  const stranger = await chrome.browser.newContext();
  const view = await stranger.newPage();
  const response = await view.goto(`${BASE.replace(/\/$/, '')}${link.replace(/^.*\/share\//, '/share/')}`);
  assert.equal(response.status(), 200);
  assert.ok(await view.getByRole('heading', { name: 'Worth sharing' }).isVisible());
  assert.equal(await view.locator('form[method=post]').count(), 0, 'read-only, and signed out');
  await view.screenshot({ path: `${SHOTS}shared.png`, fullPage: true });

  await page.getByRole('button', { name: 'Stop sharing' }).click();
  const gone = await view.reload();
  assert.equal(gone.status(), 404);
  await stranger.close();
  await context.close();
});
