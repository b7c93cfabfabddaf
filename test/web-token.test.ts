// The page against a service started with a token (M3U8DM_TOKEN): it loads without
// one, asks once, keeps the token in the browser, and every call and the live
// stream carry it from then on.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, startWebHarness, type WebHarness } from './helpers/browser.js';

const TOKEN = 'open-sesame';
let h: WebHarness;
let browser: Browser;
let context: BrowserContext;
let page: Page;

/** How many times the page opened its token prompt since it loaded. */
const prompts = () => page.evaluate(() => (window as unknown as { tokenPrompts: number }).tokenPrompts);

beforeAll(async () => {
  [h, browser] = await Promise.all([startWebHarness({ token: TOKEN }), launchBrowser()]);
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Count the prompts the page opens (the dialog's showModal), from the first script on.
  await context.addInitScript(() => {
    const w = window as unknown as { tokenPrompts: number };
    w.tokenPrompts = 0;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .call(this)
    const showModal = HTMLDialogElement.prototype.showModal;
    HTMLDialogElement.prototype.showModal = function (this: HTMLDialogElement) {
      if (this.id === 'token-dialog') w.tokenPrompts++;
      return showModal.call(this);
    };
  });
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

describe('web page with a token', () => {
  test('the page itself needs no token while the API does', async () => {
    const pageRes = await fetch(`${h.service.url}/`);
    expect(pageRes.status).toBe(200);
    expect(await pageRes.text()).toContain('<title>m3u8dm');
    expect((await fetch(`${h.service.url}/dist/web/src/main.js`)).status).toBe(200);
    expect((await fetch(`${h.service.url}/api/v1/tasks`)).status).toBe(401);
  });

  test('asks once, asks again only for a refused token, then works and stays live', async () => {
    await page.goto(h.service.url);
    const dialog = page.locator('#token-dialog');
    await dialog.waitFor({ state: 'visible' });
    // Several calls were refused at the same time; they share one prompt.
    await page.waitForTimeout(300);
    expect(await prompts()).toBe(1);

    await page.getByLabel('Token', { exact: true }).fill('wrong-token');
    await page.keyboard.press('Enter');
    await page.locator('#token-message', { hasText: 'not accepted' }).waitFor();
    expect(await prompts()).toBe(2);

    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Continue' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.locator('#task-empty').waitFor({ state: 'visible' });
    await page.locator('#live-status[data-mode="live"]').waitFor({ timeout: 8000 });
    expect(await prompts()).toBe(2);
    expect(await page.evaluate(() => localStorage.getItem('m3u8dm.token'))).toBe(TOKEN);
  });

  test('a reload uses the kept token: no prompt, and downloads added in the page run', async () => {
    await page.reload();
    await page.locator('#live-status[data-mode="live"]').waitFor({ timeout: 5000 });
    expect(await prompts()).toBe(0);

    await page.goto(`${h.service.url}/#/new`);
    await page.locator('#new-form').getByLabel('Playlist URLs').fill(h.playlist('fast'));
    await page.getByRole('button', { name: 'Add download' }).click();
    // Completion arrives through the token-carrying event stream (or its polling fallback).
    await page.waitForFunction(() => document.querySelector('#task-list > li')?.getAttribute('data-status') === 'completed', null, { timeout: 20_000 });
    expect(await prompts()).toBe(0);
  });
});
