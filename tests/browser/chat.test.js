// Chatting in a real browser (Debian's chromium, driven by playwright-core) against the
// portal that scripts/test started, whose catalogue holds the fake provider's models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, useBrowser, signedIn } from './harness.js';

const FINAL_WORDS = 'streamed word by word.';

const chrome = useBrowser();


// Starts a conversation from the home page and waits for its page.
async function start(page, model, message) {
  await page.getByLabel('Model', { exact: true }).selectOption({ label: model });
  await page.getByLabel('Message', { exact: true }).fill(message);
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}#latest$/);
}

test('a reply streams in as it is written, and survives a reload', async () => {
  const { context, page } = await signedIn(chrome.browser);
  await start(page, 'Offline demo (no AI)', 'Warm up');
  await page.getByRole('combobox', { name: 'Model' }).selectOption({ label: 'Fake slow' });
  await page.getByLabel('Message', { exact: true }).fill('Stream to me');
  await page.getByRole('button', { name: 'Send', exact: true }).click();

  // The reply appears a piece at a time, before it is complete.
  const live = page.locator('#live-reply .text');
  await live.filter({ hasText: 'You said: Stream' }).waitFor();
  const partial = await live.textContent();
  assert.ok(!partial.includes(FINAL_WORDS), `not finished yet: ${partial}`);
  await page.screenshot({ path: `${SHOTS}chat-streaming.png`, fullPage: true });

  // Reload mid-stream: what has arrived is there, marked as still being written, and the
  // page follows the reply to its end by itself. (A streaming reply is first saved after a
  // second, then as it grows by half.)
  await page.waitForTimeout(1500);
  await page.reload();
  const log = page.locator('#log');
  assert.equal(await log.getAttribute('data-live'), 'true', 'the page knows a reply is coming');
  const last = page.locator('#log li.assistant').last();
  assert.match(await last.textContent(), /You said: Stream/);
  assert.match(await last.textContent(), /Still being written/);
  await page.locator('#log[data-live="false"]').waitFor({ timeout: 20000 });
  const finished = await page.locator('#log li.assistant').last().textContent();
  assert.ok(finished.includes(FINAL_WORDS), finished);
  assert.ok(!finished.includes('Still being written'));
  await page.screenshot({ path: `${SHOTS}chat-finished.png`, fullPage: true });
  await context.close();
});

test('a model\'s thinking streams into a collapsed block above the answer, never into it', async () => {
  const { context, page } = await signedIn(chrome.browser);
  await start(page, 'Offline demo (no AI)', 'Warm up');
  await page.getByRole('combobox', { name: 'Model' }).selectOption({ label: 'Fake thinking' });
  await page.getByLabel('Message', { exact: true }).fill('Think it over');
  await page.getByRole('button', { name: 'Send', exact: true }).click();

  // While it thinks: a collapsed "Thinking" block in the live reply, filling up.
  const block = page.locator('#live-reply details.thinking');
  // Collapsed, so attached rather than visible.
  await block.locator('.thinking-text').filter({ hasText: 'The user said something.' }).waitFor({ state: 'attached' });
  assert.equal(await block.getAttribute('open'), null, 'collapsed');
  assert.equal(await block.locator('summary').textContent(), 'Thinking');
  const answerSoFar = await page.locator('#live-reply > .text').textContent();
  assert.ok(!answerSoFar.includes('The user said'), `not in the answer: ${answerSoFar}`);
  await page.screenshot({ path: `${SHOTS}chat-thinking.png`, fullPage: true });

  // Finished: the block stays, collapsed, above the answer; opening it shows all of it.
  await page.locator('#log[data-live="false"]').waitFor({ timeout: 20000 });
  const reply = page.locator('#log li.assistant').last();
  await reply.locator('.text').filter({ hasText: FINAL_WORDS }).waitFor();
  const kept = reply.locator('details.thinking');
  assert.equal(await kept.getAttribute('open'), null);
  await kept.locator('summary').click();
  assert.equal(await kept.locator('.thinking-text').textContent(), 'The user said something. I should echo it back.');
  assert.ok(!(await reply.locator('.text').textContent()).includes('I should echo it'));
  await context.close();
});

test('by keyboard: "/" goes to the search, Enter sends, Shift+Enter starts a new line', async () => {
  const { context, page } = await signedIn(chrome.browser);
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'q', 'the search has focus');
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Fake echo' });
  const box = page.getByLabel('Message', { exact: true });
  await box.focus();
  await page.keyboard.type('First line');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('second line');
  assert.equal(await box.inputValue(), 'First line\nsecond line', 'Shift+Enter is a new line');
  // Typing "/" in a field is a slash, not the search.
  await page.keyboard.type(' a/b');
  assert.equal(await box.inputValue(), 'First line\nsecond line a/b');
  assert.ok(await page.getByText('Enter sends; Shift+Enter starts a new line.').first().isVisible());
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}#latest$/);
  const mine = page.locator('#log li.user').last();
  assert.match(await mine.textContent(), /First line\s+second line a\/b/);
  const reply = page.locator('#log li.assistant').last();
  assert.match(await reply.textContent(), /You said: First line/);
  await context.close();
});

test('a sidebar lists the latest conversations beside the open one; on a phone it opens from a link, without a script', async () => {
  const { context, page } = await signedIn(chrome.browser, { viewport: { width: 1280, height: 900 } });
  // Titles of this run's own: the portal may hold an earlier run's.
  const run = Date.now().toString(36);
  await start(page, 'Fake echo', `Sidebar one ${run}`);
  const first = new URL(page.url()).pathname;
  await page.goto(`${BASE}/`);
  await start(page, 'Fake echo', `Sidebar two ${run}`);
  const sidebar = page.getByRole('navigation', { name: 'Your conversations' });
  assert.ok(await sidebar.isVisible(), 'beside the conversation on a wide screen');
  const current = sidebar.locator('a[aria-current=page]');
  assert.equal(await current.textContent(), `Sidebar two ${run}`);
  await sidebar.getByRole('link', { name: `Sidebar one ${run}` }).click();
  await page.waitForURL(`${BASE}${first}`);
  assert.equal(await page.locator('h1').textContent(), `Sidebar one ${run}`);
  await page.screenshot({ path: `${SHOTS}chat-sidebar-desktop.png` });
  await context.close();

  const phone = await signedIn(chrome.browser, {
    javaScriptEnabled: false, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
  });
  await phone.page.goto(`${BASE}${first}`);
  const folded = phone.page.getByRole('navigation', { name: 'Your conversations' });
  assert.ok(!(await folded.isVisible()), 'folded away on a phone');
  await phone.page.getByRole('link', { name: 'Your conversations' }).click();
  assert.ok(await folded.isVisible(), 'opened by its link, with no script');
  await phone.page.screenshot({ path: `${SHOTS}chat-sidebar-phone.png` });
  await folded.getByRole('link', { name: 'Close the list' }).click();
  assert.ok(!(await folded.isVisible()));
  await phone.context.close();
});

test('without JavaScript, sending posts the form and shows the finished reply', async () => {
  const { context, page } = await signedIn(chrome.browser, { javaScriptEnabled: false });
  await start(page, 'Fake echo', 'No script here');
  const reply = page.locator('#log li.assistant').last();
  assert.match(await reply.textContent(), /You said: No script here\. This reply comes from the fake provider/);

  await page.getByLabel('Message', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  assert.equal(await page.locator('#message-error').textContent(), 'Write a message first.');
  assert.equal(await page.locator('#log li.message').count(), 2, 'nothing was stored');
  await context.close();
});

test('code in a reply is highlighted, scripts in it are inert, and there is a copy button', async () => {
  const { context, page } = await signedIn(chrome.browser);
  const alerts = [];
  page.on('dialog', async (dialog) => { alerts.push(dialog.message()); await dialog.dismiss(); });
  await start(page, 'Fake markdown', 'Show me code');
  const reply = page.locator('#log li.assistant').last();
  await reply.locator('pre.code .hl-storage, pre.code .hl-keyword').first().waitFor();
  assert.equal(await reply.locator('strong').textContent(), 'bold');
  assert.equal(await reply.locator('.text script').count(), 0);
  assert.ok(await reply.getByRole('button', { name: 'Copy' }).isVisible(), 'the script shows the copy button');
  assert.deepEqual(alerts, [], 'nothing the model wrote ran');
  await page.screenshot({ path: `${SHOTS}chat-markdown.png`, fullPage: true });
  await context.close();
});

test('with the script, the message box stays at the bottom of the screen of a long conversation', async () => {
  const { context, page } = await signedIn(chrome.browser, { viewport: { width: 1280, height: 700 } });
  // A message longer than the screen.
  const story = Array.from({ length: 60 }, (_, i) => `Line ${i + 1} of a long story.`).join('\n\n');
  await start(page, 'Offline demo (no AI)', story);
  await page.reload();
  const fits = await page.evaluate(() => {
    window.scrollTo(0, 0);
    const box = document.getElementById('send').getBoundingClientRect();
    return {
      long: document.documentElement.scrollHeight > window.innerHeight,
      position: getComputedStyle(document.getElementById('send')).position,
      inView: box.top >= 0 && box.bottom <= window.innerHeight + 1,
    };
  });
  assert.equal(fits.position, 'sticky');
  assert.ok(fits.long, 'the conversation is longer than the screen');
  assert.ok(fits.inView, 'the message box is on screen at the top of the page');
  await context.close();

  // Without the script, the box stays where the page puts it.
  const plain = await signedIn(chrome.browser, { javaScriptEnabled: false });
  await start(plain.page, 'Offline demo (no AI)', 'Static');
  assert.equal(await plain.page.locator('html.js').count(), 0, 'no script, no sticky box');
  await plain.context.close();
});

test('without a script: an earlier message edited keeps the first version, and ‹ › links switch between them', async () => {
  const { context, page } = await signedIn(chrome.browser, { javaScriptEnabled: false });
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Fake echo' });
  await page.getByLabel('Message', { exact: true }).fill('Plan a day in Porto');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}#latest$/);
  const here = new URL(page.url()).pathname;
  await page.getByLabel('Message', { exact: true }).fill('Add a museum');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await page.waitForURL(/#latest$/);

  // Edit the first message (not the last): a new version, answered from it alone.
  await page.getByRole('link', { name: 'Edit this message' }).click();
  assert.equal(await page.getByLabel('Message', { exact: true }).inputValue(), 'Plan a day in Porto');
  await page.getByLabel('Message', { exact: true }).fill('Plan a day in Lisbon');
  await page.getByRole('button', { name: 'Send again' }).click();
  await page.waitForURL(`${BASE}${here}#latest`);
  const log = page.locator('#log');
  assert.match(await log.textContent(), /You said: Plan a day in Lisbon/);
  assert.doesNotMatch(await log.textContent(), /Add a museum/, 'the later message is on the other branch');
  const versions = page.getByRole('group', { name: 'Versions of this message' });
  assert.match(await versions.textContent(), /2\s*\/\s*2/);

  // The first version, by its plain link: the whole earlier branch, with its follow-up.
  await versions.getByRole('link', { name: 'Previous version' }).click();
  assert.match(await log.textContent(), /Plan a day in Porto/);
  assert.match(await log.textContent(), /Add a museum/);
  assert.match(await page.getByRole('group', { name: 'Versions of this message' }).textContent(), /1\s*\/\s*2/);
  // Back to the newer one.
  await page.getByRole('group', { name: 'Versions of this message' }).getByRole('link', { name: 'Next version' }).click();
  assert.match(await log.textContent(), /Plan a day in Lisbon/);
  await context.close();
});
