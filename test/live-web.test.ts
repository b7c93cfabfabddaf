// The web page with a live task, in a real browser: the row shows it recording
// with its recorded length, and its Stop button ends the recording into a file.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuilt, launchBrowser, saveScreenshot } from './helpers/browser.js';
import { startLiveSim, type LiveSim } from './helpers/live-hls.js';
import { startLiveService, type LiveService } from './helpers/live-service.js';

let live: LiveService;
let origin: LiveSim;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  await ensureWebBuilt();
  [live, origin, browser] = await Promise.all([startLiveService(), startLiveSim({ window: 2, lifetimeMs: 60_000 }), launchBrowser()]);
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(15_000);
});
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await browser?.close().catch(() => undefined);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await origin?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await live?.close();
});

describe('web page and a live stream', () => {
  test('shows the task recording with its recorded length, and Stop finishes the file', async () => {
    const id = await live.create({ url: origin.url, filename: 'on-air', source: 'ui' });
    await page.goto(live.svc.url);
    const row = page.locator('#task-list > li[data-name="on-air.mp4"]');
    await row.waitFor();
    await row.locator('.badge', { hasText: 'recording' }).waitFor();
    // The recorded length grows in place: wait for two seconds of it.
    await page.waitForFunction(() => /recorded 00:00:0[2-9]/.test(document.querySelector('#task-list > li[data-name="on-air.mp4"] .t-detail')?.textContent ?? ''));
    expect(await row.locator('.pct').textContent()).toMatch(/^00:00:\d\d$/);
    const stop = row.getByRole('button', { name: 'Stop on-air.mp4' });
    expect(await stop.isVisible()).toBe(true);
    expect(await row.getByRole('button', { name: /^Pause/ }).count()).toBe(0);
    await saveScreenshot(page, 'live-recording.png');

    await stop.click();
    await page.waitForFunction(() => document.querySelector('#task-list > li[data-name="on-air.mp4"]')?.getAttribute('data-status') === 'completed');
    expect(await row.locator('.pct').textContent()).toBe('100%');
    const done = await live.task(id);
    expect(done).toMatchObject({ status: 2, live: true });
    expect(done.status_bar).toContain('stopped by the user');
    expect(existsSync(done.output_path)).toBe(true);
  });
});
