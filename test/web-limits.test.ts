// The speed limits on the web page, in a real browser against the real service:
// the settings page sets the overall limit and the per-host cap, the stats bar shows
// the limit beside the speed, and the new-download form sends a task's own limit.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { waitFor } from './helpers/wait-for.js';
import { launchBrowser, startTimeTomorrow, startWebHarness, type WebHarness } from './helpers/browser.js';

let h: WebHarness;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  [h, browser] = await Promise.all([startWebHarness(), launchBrowser()]);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
});

afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await context?.close().catch(() => undefined);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await browser?.close().catch(() => undefined);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await h?.close();
});

describe('speed limits on the web page', () => {
  test('settings set the overall limit and the per-host cap; the stats bar shows the limit; bad values show at the field', async () => {
    await page.goto(`${h.service.url}/#/settings`);
    const form = page.locator('#settings-form');
    await page.waitForFunction(() => (document.getElementById('st-download-threads') as HTMLInputElement | null)?.value === '8');
    await form.getByLabel('Overall speed limit').fill('2M');
    await form.getByLabel('Connections per server').fill('3');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('.notice', { hasText: 'Settings saved' }).waitFor();
    expect(await h.service.manager.getSettings()).toMatchObject({ max_download_speed: 2 * 1024 * 1024, max_connections_per_host: 3 });
    // Read back in the form people write it.
    expect(await form.getByLabel('Overall speed limit').inputValue()).toBe('2M');
    await page.locator('[data-stat="speed-limit"]', { hasText: 'limit 2.0 MB/s' }).waitFor();

    await form.getByLabel('Overall speed limit').fill('fast please');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const error = page.locator('.field-max-download-speed .field-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/500K.*5M/);

    await form.getByLabel('Overall speed limit').fill('');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await waitFor(async () => (await h.service.manager.getSettings()).max_download_speed === 0, { timeoutMs: 5000, what: 'the limit cleared' });
    await page.waitForFunction(() => document.querySelector('[data-stat="speed-limit"]')?.textContent === '');
    await h.service.manager.saveSettings({ max_connections_per_host: 0 });
  });

  test('the new-download form sends the task\'s own speed limit', async () => {
    await page.goto('about:blank');
    await page.goto(`${h.service.url}/#/new`);
    await page.getByLabel('Playlist URLs').fill(h.playlist('fast'));
    await page.getByLabel('File name').fill('limited-video');
    await page.locator('#nd-advanced summary').click();
    await page.getByLabel('Speed limit', { exact: true }).fill('500K');
    await page.getByLabel('Start at').fill(startTimeTomorrow());
    await page.getByRole('button', { name: 'Add download' }).click();
    const task = await waitFor(async () => {
      const { tasks } = (await h.service.manager.list({ q: 'limited-video' }));
      return tasks[0];
    }, { what: 'the task created' });
    expect(task.options.max_speed).toBe(500 * 1024);
    await h.service.manager.remove(task.id);
  });
});
