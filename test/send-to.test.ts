// "Send to m3u8dm" in a real browser: the `/add` link opens the new-download form
// filled in (and creates nothing by itself); the bookmarklet from the settings page,
// run on a video page served from another loopback port, opens that form with the
// page's address, title and Referer, and the confirmed task follows the page to its
// playlist and downloads it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, startWebHarness, type WebHarness } from './helpers/browser.js';
import { waitFor } from './helpers/wait-for.js';

interface V1Task { id: number; url: string; filename: string; status: number; header_map: Record<string, string[]>; source: string }

let h: WebHarness;
let browser: Browser;
let context: BrowserContext;
let site: http.Server;
let siteOrigin: string;
const siteRequests: string[] = [];

async function tasks(): Promise<V1Task[]> {
  const res = await fetch(`${h.service.url}/api/v1/tasks?page_size=100`);
  return ((await res.json()) as { data: { tasks: V1Task[] } }).data.tasks;
}

/** What the new-download form shows. */
async function formValues(page: Page) {
  await page.locator('#view-new').waitFor({ state: 'visible' });
  return {
    urls: await page.locator('#nd-urls').inputValue(),
    filename: await page.locator('#nd-filename').inputValue(),
    headers: await page.locator('#nd-headers .header-row').evaluateAll((rows) =>
      rows.map((r) => [(r.querySelector('.h-name') as HTMLInputElement).value, (r.querySelector('.h-value') as HTMLInputElement).value])),
  };
}

beforeAll(async () => {
  h = await startWebHarness();
  browser = await launchBrowser();
  context = await browser.newContext();
  // The "other site": a page that plays the stream, on its own loopback port.
  site = http.createServer((req, res) => {
    siteRequests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>Episode 7: The Return</title></head><body>
      <video controls><source src="${h.playlist('fast')}" type="application/x-mpegURL"></video></body></html>`);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', () => resolve()));
  siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await context?.close().catch(() => undefined);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await browser?.close().catch(() => undefined);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await new Promise((r) => site?.close(r));
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await h?.close();
});

describe('send to m3u8dm', () => {
  test('GET /add opens the new-download form filled in and creates nothing by itself', async () => {
    const page = await context.newPage();
    const stream = h.playlist('fast');
    const referer = `${siteOrigin}/watch?v=1`;
    await page.goto(`${h.service.url}/add?url=${encodeURIComponent(stream)}&name=${encodeURIComponent('From the link')}&referer=${encodeURIComponent(referer)}`);
    expect(await formValues(page)).toEqual({ urls: stream, filename: 'From the link', headers: [['Referer', referer]] });
    // The query is taken once: the address bar is back to the plain form.
    expect(page.url()).toBe(`${h.service.url}/#/new`);
    await page.waitForTimeout(300);
    expect(await tasks()).toEqual([]);
    // A reload does not fill it again.
    await page.reload();
    expect((await formValues(page)).urls).toBe('');
    // Without a url, the form opens empty.
    await page.goto(`${h.service.url}/add?name=x`);
    expect((await formValues(page)).filename).toBe('');
    expect(await tasks()).toEqual([]);
    await page.close();
  });

  test("the bookmarklet opens the form with the page's address, title and Referer; confirmed, it downloads", async () => {
    const settings = await context.newPage();
    await settings.goto(`${h.service.url}/#/settings`);
    const href = await settings.locator('#bookmarklet').getAttribute('href');
    expect(href).toMatch(/^javascript:/);
    expect(await settings.locator('#add-link').textContent()).toContain(`${h.service.url}/add?url=`);
    await settings.close();

    const video = await context.newPage();
    const pageUrl = `${siteOrigin}/watch/episode-7?t=12`;
    await video.goto(pageUrl);
    const code = decodeURIComponent(href!.slice('javascript:'.length));
    const [opened] = await Promise.all([context.waitForEvent('page'), video.evaluate(code)]);
    await opened.waitForLoadState('domcontentloaded');
    expect(await formValues(opened)).toEqual({ urls: pageUrl, filename: 'Episode 7: The Return', headers: [['Referer', pageUrl]] });
    expect(opened.url()).toBe(`${h.service.url}/#/new`);
    // Nothing was sent from the other site: no task until the person confirms here.
    expect(await tasks()).toEqual([]);

    await opened.locator('#nd-submit').click();
    const task = await waitFor(async () => (await tasks())[0], { what: 'the confirmed task' });
    expect(task).toMatchObject({ url: pageUrl, source: 'ui', header_map: { Referer: [pageUrl] } });
    const done = await waitFor(async () => { const t = (await tasks())[0]; return t && (t.status === 2 || t.status === 3) ? t : null; }, { timeoutMs: 60_000, what: 'the download' });
    expect(done.status).toBe(2);
    // The engine read the page (with the Referer) and followed it to the playlist.
    expect(siteRequests).toContain('GET /watch/episode-7?t=12');
    expect(h.hls.requests.some((r) => r.path.endsWith('.m3u8'))).toBe(true);
    await video.close();
    await opened.close();
  });
});
