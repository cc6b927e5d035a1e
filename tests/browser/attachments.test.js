// Attaching files in a real browser, against the portal scripts/test started: with the script
// (picked files upload at once, straight to storage, and count in the estimate) and without it
// (the upload form posts to storage, which sends the browser back with the file attached).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, useBrowser, signedIn } from './harness.js';

const chrome = useBrowser();

// A valid 2×1 PNG.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000020000000108020000007b40e8dd0000000d4944415478da63f8cf0004ff01070001ff3d7d8c490000000049454e44ae426082',
  'hex');

// The thumbnail of the latest user message once it has loaded, and its size in pixels.
async function thumbnail(page) {
  const image = page.locator('#log li.user').last().locator('.attachments img');
  await image.waitFor();
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await image.elementHandle());
  return image.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
}

test('an image attached with the script reaches the model and shows in the conversation', async () => {
  const { context, page } = await signedIn(chrome.browser);
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Fake echo' });
  await page.getByLabel('Message', { exact: true }).fill('What is in this picture?');
  const estimate = page.locator('#estimate');
  const before = await estimate.textContent();

  await page.getByLabel('Attach a file').setInputFiles({ name: 'shot.png', mimeType: 'image/png', buffer: PNG });
  const waiting = page.locator('[data-attached] li');
  await waiting.filter({ hasText: 'shot.png' }).waitFor();
  assert.equal(await waiting.first().getAttribute('data-tokens'), '1', 'a 2×1 image is one token');
  assert.notEqual(await estimate.textContent(), before, 'the estimate counts the file');
  // What was typed stays.
  assert.equal(await page.getByLabel('Message', { exact: true }).inputValue(), 'What is in this picture?');

  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}#latest$/);
  assert.deepEqual(await thumbnail(page), [2, 1]);
  // The fake provider says what it was sent.
  const reply = await page.locator('#log li.assistant').last().textContent();
  assert.match(reply, /It came with 1 image\(s\) and 0 document\(s\)/);

  // A file the model cannot read is refused, and the message and file stay to send again.
  await page.getByRole('combobox', { name: 'Model' }).selectOption({ label: 'Fake text only' });
  await page.getByLabel('Message', { exact: true }).fill('And this one?');
  await page.getByLabel('Attach a file').setInputFiles({ name: 'again.png', mimeType: 'image/png', buffer: PNG });
  await page.locator('[data-attached] li', { hasText: 'again.png' }).waitFor();
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.getByText('Fake text only cannot read PNG images').waitFor();
  assert.equal(await page.getByLabel('Message', { exact: true }).inputValue(), 'And this one?');
  await page.screenshot({ path: `${SHOTS}attachments-refused.png`, fullPage: true });
  await context.close();
});

test('without the script, a file is uploaded first and then sent with the message', async () => {
  const { context, page } = await signedIn(chrome.browser, { javaScriptEnabled: false });
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Fake echo' });
  await page.getByLabel('Message', { exact: true }).fill('Start');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}#latest$/);

  await page.getByLabel('Attach a file').setInputFiles({ name: 'notes.md', mimeType: 'text/markdown', buffer: Buffer.from('# Plan\nship it') });
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.locator('[data-attached] li', { hasText: 'notes.md' }).waitFor();
  await page.getByLabel('Attach a file').setInputFiles({ name: 'shot.png', mimeType: 'image/png', buffer: PNG });
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.locator('[data-attached] li', { hasText: 'shot.png' }).waitFor();
  assert.equal(await page.locator('[data-attached] li').count(), 2, 'both stay attached');

  await page.getByLabel('Message', { exact: true }).fill('Read these');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.waitForURL(/#latest$/);
  // (No script runs in this page: the thumbnail is checked by its markup and its address.)
  const image = page.locator('#log li.user').last().locator('.attachments img');
  assert.equal(await image.getAttribute('width'), '2');
  const served = await context.request.get(new URL(await image.getAttribute('src'), BASE).href);
  assert.equal(served.status(), 200);
  assert.equal(served.headers()['content-type'], 'image/png');
  const mine = page.locator('#log li.user').last();
  assert.ok(await mine.getByRole('link', { name: 'notes.md' }).isVisible());
  const reply = await page.locator('#log li.assistant').last().textContent();
  assert.match(reply, /It came with 1 image\(s\)/);
  assert.match(reply, /ship it/, 'the text document was inlined for the model');
  await page.screenshot({ path: `${SHOTS}attachments-sent.png`, fullPage: true });
  await context.close();
});
