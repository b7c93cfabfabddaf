// The web page in a real browser (Debian chromium via playwright-core) against the
// real service and engine, downloading real HLS from a loopback fixture server.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { waitFor } from './helpers/wait-for.js';
import { launchBrowser, saveScreenshot, startTimeTomorrow, startWebHarness, type WebHarness } from './helpers/browser.js';

interface V1Task {
  id: number;
  filename: string;
  status: number;
  source: string;
  progress: number;
  header_map: Record<string, string[]>;
}

let h: WebHarness;
let browser: Browser;
let context: BrowserContext;
let page: Page;

async function api<T>(method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${h.service.url}/api/v1${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const envelope = (await res.json()) as { code: number; message: string; data: T };
  if (envelope.code !== 0) throw new Error(`${method} ${route}: ${envelope.message}`);
  return envelope.data;
}

async function taskNamed(filename: string): Promise<V1Task | undefined> {
  const { tasks } = await api<{ tasks: V1Task[] }>('GET', `/tasks?q=${encodeURIComponent(filename)}&page_size=100`);
  return tasks.find((t) => t.filename === filename);
}

/** Tasks that wait (a day) for their start time: cheap rows in a known state. */
async function createScheduled(filename: string): Promise<number> {
  const { task_ids } = await api<{ task_ids: number[] }>('POST', '/tasks', { url: h.playlist('fast'), filename, start_time: startTimeTomorrow() });
  return task_ids[0]!;
}

const newForm = () => page.locator('#new-form');
const row = (name: string) => page.locator(`#task-list > li[data-name="${name}"]`);

/** Waits until the row of `name` shows this status (`data-status`: pending, running, …). */
async function rowStatus(name: string, status: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction(
    ([n, s]) => document.querySelector(`#task-list > li[data-name="${n}"]`)?.getAttribute('data-status') === s,
    [name, status] as const,
    { timeout },
  );
}

/** A freshly loaded page on the form (a hash change alone would keep the last test's state). */
async function openNewDownload(): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`${h.service.url}/#/new`);
  await page.locator('#view-new').waitFor({ state: 'visible', timeout: 5000 });
}

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

describe('web page', () => {
  test('loads without a token, from the service alone, and goes live', async () => {
    const foreign: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(h.service.url) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const res = await page.goto(h.service.url);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.locator('#live-status[data-mode="live"]').waitFor({ timeout: 5000 });
    await page.locator('#task-empty').waitFor({ state: 'visible' });
    expect(await page.locator('#boot-note').count()).toBe(0);
    expect(await page.locator('[data-stat="total"] .stat-value').textContent()).toBe('0');
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
  });

  test('adds a download through the form and its progress bar fills, in place, to 100%', async () => {
    await openNewDownload();
    await page.getByLabel('Playlist URLs').fill(h.playlist('slow'));
    await page.getByLabel('File name').fill('first-video');
    // Record every progress value the list shows, and any row the list throws away.
    await page.evaluate(() => {
      const w = window as unknown as { seen: [string, number][]; removed: string[] };
      w.seen = [];
      w.removed = [];
      new MutationObserver((records) => {
        for (const r of records) {
          const target = r.target as Element;
          if (r.type === 'attributes') w.seen.push([target.closest('li')?.getAttribute('data-name') ?? '', Number(target.getAttribute('aria-valuenow'))]);
          for (const node of Array.from(r.removedNodes)) w.removed.push((node instanceof Element ? node.getAttribute('data-name') : null) ?? '');
        }
      }).observe(document.getElementById('task-list')!, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuenow'] });
    });
    await page.getByRole('button', { name: 'Add download' }).click();

    await row('first-video.mp4').waitFor({ timeout: 5000 });
    expect(new URL(page.url()).hash).toBe('#/');
    await rowStatus('first-video.mp4', 'completed', 20_000);

    const { seen, removed } = await page.evaluate(() => {
      const w = window as unknown as { seen: [string, number][]; removed: string[] };
      return { seen: w.seen, removed: w.removed };
    });
    const values = seen.filter(([name]) => name === 'first-video.mp4').map(([, v]) => v);
    expect(values.some((v) => v > 0 && v < 100), `progress values seen: ${values.join(',')}`).toBe(true);
    expect(values.at(-1)).toBe(100);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(removed).not.toContain('first-video.mp4');

    const r = row('first-video.mp4');
    expect(await r.locator('.bar').getAttribute('aria-valuenow')).toBe('100');
    expect(await r.locator('.pct').textContent()).toBe('100%');
    expect(await r.locator('.badge').textContent()).toBe('completed');
    expect(await r.locator('.t-segments span:last-child').textContent()).toBe('12/12');
    expect(await r.locator('.t-size span:last-child').textContent()).toMatch(/\d+(\.\d)? (KB|MB)/);
    const task = await taskNamed('first-video.mp4');
    expect(task?.source).toBe('ui');
    expect(existsSync(path.join(h.downloadDir, 'first-video.mp4'))).toBe(true);
  });

  test('pauses a running download and resumes it to completion', async () => {
    await openNewDownload();
    await page.getByLabel('Playlist URLs').fill(h.playlist('gated'));
    await page.getByLabel('File name').fill('gated');
    await page.getByRole('button', { name: 'Add download' }).click();

    // Segments 4+ are held by the fixture server: the task sits at 4/12, downloading.
    const r = row('gated.mp4');
    await r.locator('.t-segments', { hasText: '4/12' }).waitFor({ timeout: 10_000 });
    await rowStatus('gated.mp4', 'running');
    await page.getByRole('button', { name: 'Pause gated.mp4', exact: true }).click();
    await rowStatus('gated.mp4', 'paused');
    expect(await r.locator('.badge').textContent()).toBe('paused');
    const paused = Number(await r.locator('.bar').getAttribute('aria-valuenow'));
    expect(paused).toBeGreaterThan(0);
    expect(paused).toBeLessThan(100);
    expect((await taskNamed('gated.mp4'))?.status).toBe(4);
    // The keyboard focus moved from the hidden Pause to Resume.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Resume gated.mp4');

    h.gate('gated').open();
    await page.getByRole('button', { name: 'Resume gated.mp4', exact: true }).click();
    await rowStatus('gated.mp4', 'completed', 20_000);
    expect(await r.locator('.bar').getAttribute('aria-valuenow')).toBe('100');
  });

  test('fills URL and header rows from a pasted curl command, and the headers reach the server', async () => {
    await openNewDownload();
    await page.locator('#nd-curl-panel > summary').click();
    const command = [
      `curl '${h.playlist('curl')}' \\`,
      `  -H 'Referer: https://example.com/watch?v=1' \\`,
      `  -H "X-Quoted: a b \\"c\\"" \\`,
      `  --compressed -X GET -A 'Mozilla/5.0 (X11; Linux x86_64)' \\`,
      `  --header $'X-Ansi: tab\\there' -b 'session=abc; theme=dark'`,
    ].join('\n');
    await page.getByLabel('curl command').fill(command);
    await page.getByRole('button', { name: 'Fill in from curl' }).click();

    expect(await page.getByLabel('Playlist URLs').inputValue()).toBe(h.playlist('curl'));
    const rows = await page.locator('#nd-headers .header-row').evaluateAll((els) =>
      els.map((el) => [(el.querySelector('.h-name') as HTMLInputElement).value, (el.querySelector('.h-value') as HTMLInputElement).value]));
    expect(rows).toEqual([
      ['Referer', 'https://example.com/watch?v=1'],
      ['X-Quoted', 'a b "c"'],
      ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64)'],
      ['X-Ansi', 'tab\there'],
      ['Cookie', 'session=abc; theme=dark'],
    ]);
    const note = await page.locator('#nd-curl-note').textContent();
    expect(note).toContain('1 URL and 5 headers');
    expect(note).toContain('--compressed');

    await page.getByLabel('File name').fill('from-curl');
    await page.getByRole('button', { name: 'Add download' }).click();
    await rowStatus('from-curl.mp4', 'completed', 20_000);
    const task = await taskNamed('from-curl.mp4');
    expect(task?.header_map).toMatchObject({ Referer: ['https://example.com/watch?v=1'], Cookie: ['session=abc; theme=dark'], 'X-Quoted': ['a b "c"'] });
    const segment = h.hls.requests.find((req) => req.path === '/curl/seg000.ts');
    expect(segment?.headers.referer).toBe('https://example.com/watch?v=1');
    expect(segment?.headers['user-agent']).toBe('Mozilla/5.0 (X11; Linux x86_64)');
    expect(segment?.headers.cookie).toBe('session=abc; theme=dark');
  });

  test('shows API validation errors next to the field they name', async () => {
    const before = (await api<{ total: number }>('GET', '/tasks')).total;
    await openNewDownload();
    await newForm().getByLabel('Playlist URLs').fill(h.playlist('fast'));
    await page.locator('#nd-advanced > summary').click();
    const threads = newForm().getByLabel('Threads');
    await threads.fill('0');
    await page.getByRole('button', { name: 'Add download' }).click();
    const threadsError = page.locator('.field-download-threads .field-error');
    await threadsError.waitFor({ timeout: 5000 });
    expect(await threadsError.textContent()).toMatch(/^Must be an integer from 1 to 128, got `0`/);
    expect(await threads.getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('nd-download-threads');
    expect(await page.locator('#nd-summary').isVisible()).toBe(true);
    await saveScreenshot(page, 'web-new-error.png');

    await threads.fill('4');
    await newForm().getByLabel('Skip segments').fill('2,1-x');
    await page.getByRole('button', { name: 'Add download' }).click();
    const skipError = page.locator('.field-skip-ts-info .field-error');
    await skipError.waitFor({ timeout: 5000 });
    expect(await skipError.textContent()).toContain('Invalid skip_ts_info part "1-x"');
    expect(await threads.getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator('.field-download-threads .field-error').count()).toBe(0);

    await newForm().getByLabel('Skip segments').fill('');
    await newForm().getByLabel('Playlist URLs').fill(`${h.playlist('fast')}\n\nftp://example.com/video.m3u8`);
    await page.getByRole('button', { name: 'Add download' }).click();
    const urlError = page.locator('#nd-urls ~ .field-error');
    await urlError.waitFor({ timeout: 5000 });
    expect(await urlError.textContent()).toMatch(/^Line 3: Must be an http:\/\/ or https:\/\/ URL/);

    expect(new URL(page.url()).hash).toBe('#/new');
    expect((await api<{ total: number }>('GET', '/tasks')).total).toBe(before);
  });

  test('deletes a task only after confirming, and deletes or pauses a selection', async () => {
    for (const name of ['delete-me', 'keep-me', 'batch-1', 'batch-2', 'batch-3']) await createScheduled(name);
    await page.goto(h.service.url);
    await row('delete-me.mp4').waitFor();
    expect(await row('delete-me.mp4').locator('.badge').textContent()).toBe('scheduled');

    const dialog = page.locator('#confirm-dialog');
    await page.getByRole('button', { name: 'Delete delete-me.mp4', exact: true }).click();
    await dialog.waitFor({ state: 'visible' });
    expect(await page.locator('#confirm-message').textContent()).toContain('delete-me.mp4');
    await saveScreenshot(page, 'web-confirm.png');
    await page.keyboard.press('Enter'); // the focus is on Cancel: Enter alone does not delete
    await dialog.waitFor({ state: 'hidden' });
    expect(await row('delete-me.mp4').count()).toBe(1);

    await page.getByRole('button', { name: 'Delete delete-me.mp4', exact: true }).click();
    await dialog.locator('#confirm-ok').click();
    await row('delete-me.mp4').waitFor({ state: 'detached' });
    expect(await taskNamed('delete-me.mp4')).toBeUndefined();

    await page.getByLabel('Select batch-1.mp4').check();
    await page.getByLabel('Select batch-2.mp4').check();
    expect(await page.locator('#selected-count').textContent()).toBe('2 selected');
    await page.locator('[data-batch="delete"]').click();
    await page.locator('#confirm-ok', { hasText: 'Delete 2' }).click();
    await row('batch-2.mp4').waitFor({ state: 'detached' });
    expect(await row('batch-1.mp4').count()).toBe(0);
    expect(await taskNamed('batch-1.mp4')).toBeUndefined();

    await page.getByLabel('Select batch-3.mp4').check();
    await page.getByLabel('Select keep-me.mp4').check();
    await page.locator('[data-batch="stop"]').click();
    await rowStatus('batch-3.mp4', 'paused');
    await rowStatus('keep-me.mp4', 'paused');
  });

  test('filters by status, searches, and pages through many tasks', async () => {
    const { task_ids } = await api<{ task_ids: number[] }>('POST', '/tasks', {
      urls: Array.from({ length: 21 }, (_, i) => `${h.playlist('paging')}?n=${i}`),
      filename: 'page-item',
      start_time: startTimeTomorrow(),
    });
    await page.goto(h.service.url);
    await page.getByLabel('Search').fill('page-item');
    await page.locator('#page-info', { hasText: '1–20 of 21' }).waitFor();
    expect(await page.locator('#task-list > li').count()).toBe(20);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('#page-info', { hasText: '21–21 of 21' }).waitFor();
    expect(await page.locator('#task-list > li').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);

    await page.getByLabel('Status', { exact: true }).selectOption('3');
    await page.locator('#task-empty', { hasText: 'No downloads match' }).waitFor();
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Status', { exact: true }).selectOption('2');
    await row('first-video.mp4').waitFor();
    expect(await page.locator('#task-list > li[data-status]:not([data-status="completed"])').count()).toBe(0);

    // The header's counts filter too.
    await page.locator('[data-stat="paused"]').click();
    await row('keep-me.mp4').waitFor();
    expect(await page.getByLabel('Status', { exact: true }).inputValue()).toBe('4');
    await api('DELETE', '/tasks/batch', { task_ids });
  });

  test('keeps the list current by polling when the event stream is down', async () => {
    const other = await context.newPage();
    let id = 0;
    try {
      await other.route('**/api/v1/events*', (route) => route.abort());
      await other.goto(h.service.url);
      await other.locator('#live-status[data-mode="polling"]').waitFor({ timeout: 5000 });
      id = await createScheduled('while-polling');
      await other.locator('#task-list > li[data-name="while-polling.mp4"]').waitFor({ timeout: 5000 });
      // The stream comes back: the page goes live again by itself.
      await other.unroute('**/api/v1/events*');
      await other.locator('#live-status[data-mode="live"]').waitFor({ timeout: 8000 });
    } finally {
      await other.close();
      if (id) await api('DELETE', `/tasks/${id}`);
    }
  });

  test('edits the default settings; the password is write-only and errors show at their field', async () => {
    await page.goto('about:blank');
    await page.goto(`${h.service.url}/#/settings`);
    const form = page.locator('#settings-form');
    const threads = form.getByLabel('Threads');
    await page.waitForFunction(() => (document.getElementById('st-download-threads') as HTMLInputElement | null)?.value === '8');
    await threads.fill('3');
    await form.getByLabel('Proxy', { exact: true }).selectOption('http');
    await form.getByLabel('Proxy host').fill('127.0.0.1');
    await form.getByLabel('Proxy port').fill('3128');
    await form.getByLabel('Proxy password').fill('s3cret');
    await form.getByLabel('Write a debug log').check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('.notice', { hasText: 'Settings saved' }).waitFor();
    const saved = await h.service.manager.getSettings();
    expect(saved).toMatchObject({ download_threads: 3, proxy_type: 'http', proxy_host: '127.0.0.1', proxy_port: 3128, proxy_password: 's3cret', debug_log: true });
    expect(await form.getByLabel('Proxy password').inputValue()).toBe('');

    await threads.fill('0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const error = page.locator('.field-download-threads .field-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^Must be an integer from 1 to 128/);
    // Saved again with the password left blank: the saved one stays.
    await threads.fill('4');
    await form.getByLabel('Proxy', { exact: true }).selectOption('none');
    await form.getByLabel('Write a debug log').uncheck();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.waitForFunction(() => !document.querySelector('.field-download-threads .field-error'));
    await waitFor(async () => (await h.service.manager.getSettings()).download_threads === 4, { timeoutMs: 5000, what: 'settings saved' });
    expect((await h.service.manager.getSettings()).proxy_password).toBe('s3cret');

    // The new-download form starts from the saved defaults (handed over when the save's answer arrives).
    await page.goto(`${h.service.url}/#/new`);
    await waitFor(async () => (await newForm().getByLabel('Threads').inputValue()) === '4', { timeoutMs: 5000, what: 'the form to take the new default' });
    await h.service.manager.saveSettings({ download_threads: 8 });
  });

  test('screenshot: tasks in several states, desktop and phone width', async () => {
    await api('POST', '/tasks', { url: h.hls.url('missing/index.m3u8'), filename: 'gone-missing' });
    await api('POST', '/tasks', { url: h.playlist('stuck'), filename: 'still-downloading' });
    await createScheduled('scheduled-tonight');
    await page.goto(h.service.url);
    await rowStatus('gone-missing.mp4', 'failed');
    await row('still-downloading.mp4').locator('.t-segments', { hasText: '4/12' }).waitFor({ timeout: 10_000 });
    expect(await row('gone-missing.mp4').locator('.t-error').textContent()).toMatch(/404/);
    const states = await page.locator('#task-list > li').evaluateAll((els) => [...new Set(els.map((el) => el.getAttribute('data-status')))].sort());
    expect(states).toEqual(['completed', 'failed', 'paused', 'pending', 'running']);
    await page.waitForTimeout(400); // let the bars' width transition finish
    await saveScreenshot(page, 'web-list.png');

    await page.emulateMedia({ colorScheme: 'dark' });
    await saveScreenshot(page, 'web-list-dark.png');
    await page.emulateMedia({ colorScheme: 'light' });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    await saveScreenshot(page, 'web-list-phone.png');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.goto(`${h.service.url}/#/new`);
    await page.locator('#nd-advanced > summary').click();
    await saveScreenshot(page, 'web-new-phone.png');
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
