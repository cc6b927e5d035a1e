// Costs in a real browser: the estimate beside the message field follows what is typed and
// the model picked, and the usage page shows what replies cost. Against the portal that
// scripts/test started, whose catalogue prices the fake models at $1 in and $2 out per
// million tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, SHOTS, useBrowser, signedIn } from './harness.js';

const chrome = useBrowser();


test('the cost estimate follows the message and the model as they change', async () => {
  const { context, page } = await signedIn(chrome.browser);
  const estimate = page.locator('#estimate');
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Fake echo' });
  // 4000 bytes are 1000 tokens, plus 4 for the message: $0.001004 in, and a typical reply of
  // 400 tokens at $2 per million: $0.0008.
  await page.getByLabel('Message', { exact: true }).fill('x'.repeat(4000));
  assert.equal(
    await estimate.textContent(),
    'Sending with Fake echo costs about $0.001804: about 1004 tokens in (the conversation and ' +
      'your message) and a typical reply of 400 tokens.',
  );
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Offline demo (no AI)' });
  assert.equal(
    await estimate.textContent(),
    'Sending with Offline demo (no AI) costs nothing: it has no price set.',
  );

  // On a conversation's page the estimate counts the history; the script's arithmetic agrees
  // with the server's.
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Fake echo' });
  await page.getByLabel('Message', { exact: true }).fill('Estimate after this');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}#latest$/);
  const rendered = await estimate.textContent();
  assert.match(rendered, /^Sending with Fake echo costs about \$0\.0000\d+: about \d+ tokens in/);
  const box = page.getByLabel('Message', { exact: true });
  await box.fill('a');
  await box.fill('');
  assert.equal(await estimate.textContent(), rendered);
  await box.fill('y'.repeat(400));
  const longer = await estimate.textContent();
  const tokens = (text) => Number(text.match(/about (\d+) tokens in/)[1]);
  assert.equal(tokens(longer), tokens(rendered) + 100);
  await page.screenshot({ path: `${SHOTS}estimate.png`, fullPage: true });
  await context.close();
});

test('the usage page lists what replies cost by model and conversation', async () => {
  const { context, page } = await signedIn(chrome.browser);
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Fake echo' });
  await page.getByLabel('Message', { exact: true }).fill('A costed question');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}#latest$/);
  await page.locator('#log[data-live="false"]').waitFor();
  await page.getByRole('link', { name: 'Usage' }).click();
  await page.waitForURL(`${BASE}/usage`);
  const month = page.locator('section[id^="usage-"]').first();
  assert.match(await month.locator('.total').textContent(), /\$0\.\d+ for \d+ repl/);
  const byModel = month.locator('table.by-model');
  assert.ok(await byModel.getByRole('rowheader', { name: 'Fake echo' }).isVisible());
  const conversation = month.locator('table.by-conversation').getByRole('link', { name: 'A costed question' });
  assert.ok(await conversation.first().isVisible());
  await page.screenshot({ path: `${SHOTS}usage.png`, fullPage: true });
  await conversation.first().click();
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}$/);
  await context.close();
});
