// Every page against axe-core's WCAG 2.2 A and AA rules, in the light and the dark colour
// scheme, at desktop and at phone width. axe runs in the page through the browser's own
// evaluation, which the pages' script policy does not restrict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BASE, SHOTS, signedIn, useBrowser } from './harness.js';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const RULES = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
const VIEWS = [
  { name: 'desktop', viewport: { width: 1280, height: 900 } },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
];

// The pages photographed (light scheme, each width) for docs/screenshots/.
const PHOTOGRAPHED = { '/': 'home', '/login': 'login', '/settings': 'settings', '/admin': 'admin', '/usage': 'usage' };

const chrome = useBrowser();

// The violations axe finds on the page as it is now, one line each; and, at phone width, a
// page wider than the screen (WCAG 1.4.10, Reflow: nothing but a table's own scroller may
// scroll sideways).
async function violations(page, view) {
  await page.evaluate(AXE);
  const result = await page.evaluate((tags) =>
    window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), RULES);
  const found = result.violations.map((v) =>
    `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  if (view.name === 'phone') {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > view.viewport.width) found.push(`reflow: the page is ${width} px wide on a ${view.viewport.width} px screen`);
  }
  return found;
}

// A conversation with a reply in it (Markdown, code, the model's thinking) in two versions,
// a shared link, and a folder.
async function setUp(browser) {
  const { context, page } = await signedIn(browser);
  await page.getByLabel('Model', { exact: true }).selectOption({ label: 'Fake markdown' });
  await page.getByLabel('Message', { exact: true }).fill('Show me some code');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]{16}#latest$/);
  await page.locator('#log[data-live="false"]').waitFor();
  const conversation = new URL(page.url()).pathname;
  // A second version of the reply: the page then links between the two.
  await page.getByRole('button', { name: 'Regenerate' }).click();
  await page.getByRole('group', { name: 'Versions of this reply' }).waitFor();
  await page.locator('#log[data-live="false"]').waitFor();
  await page.locator('details.options').evaluate((d) => { d.open = true; });
  await page.getByRole('button', { name: 'Share a read-only link' }).click();
  const share = await page.locator('#share-link').getAttribute('href');
  await page.goto(`${BASE}/`);
  await page.getByLabel('New folder').fill(`Folder ${Date.now() % 100000}`);
  await page.getByRole('button', { name: 'Make the folder' }).click();
  await page.waitForURL(/\/folders\/[A-Za-z0-9_-]{16}$/);
  const folder = new URL(page.url()).pathname;
  const cookies = await context.cookies();
  await context.close();
  return { conversation, share: new URL(share, BASE).pathname, folder, cookies };
}

test('every page passes axe-core\'s WCAG 2.2 AA rules in both colour schemes, at desktop and phone width, and reflows on a phone', async () => {
  const { conversation, share, folder, cookies } = await setUp(chrome.browser);
  const signedIn = ['/', conversation, `${conversation}?confirm=delete`, folder, `${folder}?confirm=delete`, '/settings', '/admin', '/admin/groups', '/admin/usage', '/admin/usage?month=1999-01', '/admin/audit', '/admin/audit?action=drop', '/usage', '/import', '/no-such-page'];
  const signedOut = ['/login', '/signup', share];
  const found = [];
  for (const scheme of ['light', 'dark']) {
    for (const view of VIEWS) {
      const { name, ...options } = view;
      const context = await chrome.browser.newContext({ ...options, colorScheme: scheme });
      const page = await context.newPage();
      for (const path of signedOut) {
        await page.goto(`${BASE}${path}`);
        for (const v of await violations(page, view)) found.push(`${path} [${scheme}, ${name}] ${v}`);
        if (PHOTOGRAPHED[path] && scheme === 'light') {
          await page.screenshot({ path: `${SHOTS}page-${PHOTOGRAPHED[path]}-${name}.png`, fullPage: true });
        }
      }
      await context.addCookies(cookies);
      for (const path of signedIn) {
        await page.goto(`${BASE}${path}`);
        for (const v of await violations(page, view)) found.push(`${path} [${scheme}, ${name}] ${v}`);
        const photo = path === conversation ? 'conversation' : PHOTOGRAPHED[path];
        if (photo && scheme === 'light') {
          await page.screenshot({ path: `${SHOTS}page-${photo}-${name}.png`, fullPage: true });
        }
      }
      await context.close();
    }
  }
  assert.deepEqual(found, [], found.join('\n'));
});
