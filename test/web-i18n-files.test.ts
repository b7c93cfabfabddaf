// The page in two languages and what it offers for a finished download, in a real
// browser (Debian chromium via playwright-core) against the real service with a token:
// zh-CN → Chinese, en-US → English, the switcher remembered; the poster thumbnail,
// Download (same bytes as the file) and Play (<video> ready, right duration); and the
// file route over HTTP: Range → 206, the real name, signed links, nothing but the task's file.
import { lstat, readFile, rename, symlink } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { TaskStatus } from '../src/types.js';
import { ffprobe } from './helpers/ffprobe.js';
import { waitFor } from './helpers/wait-for.js';
import { launchBrowser, saveScreenshot, startWebHarness, type WebHarness } from './helpers/browser.js';

const TOKEN = 'web-files-token-2718';

interface V1Task { id: number; filename: string; status: number; output_path: string; has_poster: boolean }

let h: WebHarness;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function api<T>(method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${h.service.url}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const envelope = (await res.json()) as { code: number; message: string; data: T };
  if (envelope.code !== 0) throw new Error(`${method} ${route}: ${envelope.message}`);
  return envelope.data;
}

async function finished(filename: string): Promise<V1Task> {
  const { task_ids } = await api<{ task_ids: number[] }>('POST', '/tasks', { url: h.playlist('fast'), filename });
  const id = task_ids[0]!;
  return waitFor(async () => {
    const task = await api<V1Task>('GET', `/tasks/${id}`);
    if (task.status === 3) throw new Error(`task ${filename} failed`);
    return task.status === 2 ? task : undefined;
  }, { timeoutMs: 40_000, what: `${filename} to complete` });
}

/** A page in a browser of this language, with the token already kept (as after the first prompt). */
async function pageIn(locale: string): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  await context.addInitScript((token) => {
    if (!localStorage.getItem('m3u8dm.token')) localStorage.setItem('m3u8dm.token', token);
  }, TOKEN);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

async function openList(page: Page): Promise<void> {
  await page.goto(h.service.url);
  await page.locator('#live-status[data-mode="live"]').waitFor({ timeout: 10_000 });
}

const row = (page: Page, name: string) => page.locator(`#task-list > li[data-name="${name}"]`);

/** A raw GET (no client-side path normalisation, unlike fetch). */
function rawGet(pathAndQuery: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  const url = new URL(h.service.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: pathAndQuery, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

let clip: V1Task;
let named: V1Task;

beforeAll(async () => {
  [h, browser] = await Promise.all([startWebHarness({ token: TOKEN }), launchBrowser()]);
  [clip, named] = await Promise.all([finished('clip'), finished('视频 第1集')]);
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await browser?.close().catch(() => undefined);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await h?.close();
});

describe('two languages', () => {
  test('a zh-CN browser gets Chinese, with the compat API\'s status names', async () => {
    const page = await pageIn('zh-CN');
    await openList(page);
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await page.locator('nav.views a[data-view="list"]').textContent()).toBe('下载列表');
    expect(await page.locator('#list-title').textContent()).toBe('下载列表');
    expect(await page.getByRole('button', { name: '重试全部失败任务' }).count()).toBe(1);
    const options = await page.locator('#filter-status option').evaluateAll((els) => els.map((o) => [(o as HTMLOptionElement).value, o.textContent]));
    expect(options).toEqual([['', '全部'], ['1', TaskStatus.downloading], ['0', TaskStatus.waiting], ['4', TaskStatus.paused], ['2', TaskStatus.completed], ['3', TaskStatus.failed]]);
    await row(page, 'clip.mp4').waitFor();
    const compat = (await (await fetch(`${h.service.url}/api/tasks`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { id: string; status: string }[];
    expect(await row(page, 'clip.mp4').locator('.badge').textContent()).toBe(compat.find((t) => t.id === String(clip.id))!.status);
    expect(await row(page, 'clip.mp4').getByRole('button', { name: '下载 clip.mp4' }).count()).toBe(1);
    expect(await page.locator('[data-stat="completed"] .stat-label').textContent()).toBe(TaskStatus.completed);
    await page.goto(`${h.service.url}/#/settings`);
    await page.locator('#settings-form').getByLabel('线程数').waitFor();
    await saveScreenshot(page, 'i18n-zh-settings.png');
    await page.goto(`${h.service.url}/#/new`);
    await page.getByLabel('播放列表 URL').waitFor();
    await saveScreenshot(page, 'i18n-zh-new.png');
  });

  test('an en-US browser gets English; the switcher\'s choice is remembered across reloads', async () => {
    const page = await pageIn('en-US');
    await openList(page);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('#list-title').textContent()).toBe('Downloads');
    await row(page, 'clip.mp4').waitFor();
    expect(await row(page, 'clip.mp4').locator('.badge').textContent()).toBe('completed');
    await saveScreenshot(page, 'i18n-en-list.png');

    await Promise.all([page.waitForEvent('load'), page.getByLabel('Language').selectOption('zh')]);
    await page.locator('#live-status[data-mode="live"]').waitFor();
    expect(await page.locator('#list-title').textContent()).toBe('下载列表');
    await page.reload();
    await page.locator('#live-status[data-mode="live"]').waitFor();
    expect(await page.locator('#list-title').textContent()).toBe('下载列表');
    expect(await page.getByLabel('语言').inputValue()).toBe('zh');
    await row(page, 'clip.mp4').locator('.t-thumb:not([hidden])').waitFor();
    await saveScreenshot(page, 'i18n-zh-list.png');
    await Promise.all([page.waitForEvent('load'), page.getByLabel('语言').selectOption('en')]);
    await page.reload();
    expect(await page.locator('#list-title').textContent()).toBe('Downloads');
  });
});

describe('a finished download on the page', () => {
  test('shows its poster, downloads the very bytes of the file, and plays in the page', async () => {
    const page = await pageIn('en-US');
    await openList(page);
    const r = row(page, 'clip.mp4');
    const thumb = r.locator('img.t-thumb');
    await r.locator('img.t-thumb:not([hidden])').waitFor();
    await page.waitForFunction((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0, await thumb.elementHandle());
    const size = await thumb.evaluate((img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight]);
    expect(size[0]).toBe(320);
    expect(size[1]).toBe(240);
    expect(await thumb.getAttribute('src')).toMatch(/^blob:/);

    const [download] = await Promise.all([page.waitForEvent('download'), r.getByRole('button', { name: 'Download clip.mp4' }).click()]);
    expect(download.suggestedFilename()).toBe('clip.mp4');
    const saved = await readFile(await download.path());
    expect(saved.equals(await readFile(clip.output_path))).toBe(true);

    await r.getByRole('button', { name: 'Play clip.mp4' }).click();
    const dialog = page.locator('#player-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.waitForFunction(() => (document.getElementById('player-video') as HTMLVideoElement).readyState >= 2, undefined, { timeout: 15_000 });
    const duration = await page.locator('#player-video').evaluate((v) => (v as HTMLVideoElement).duration);
    const probed = await ffprobe(clip.output_path);
    expect(Math.abs(duration - probed.duration)).toBeLessThan(0.2);
    expect(duration).toBeGreaterThan(11);
    await saveScreenshot(page, 'player-en.png');
    await page.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // Download and Play are for finished files only.
    expect(await r.locator('.act-download').isVisible()).toBe(true);
  });
});

describe('a service protected by a Basic user/password only', () => {
  test('the browser answers its Basic challenge: the page lists, goes live and adds a download; no token prompt', async () => {
    const basic = await startWebHarness({ basicAuth: { user: 'orig', pass: 'orig-pass 密码' } });
    try {
      const anonymous = await fetch(`${basic.service.url}/api/tasks`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="m3u8dm", charset="UTF-8"');
      const context = await browser.newContext({ locale: 'en-US', httpCredentials: { username: 'orig', password: 'orig-pass 密码' } });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(basic.service.url);
      await page.locator('#live-status[data-mode="live"]').waitFor();
      expect(await page.locator('#token-dialog').evaluate((d) => (d as HTMLDialogElement).open)).toBe(false);
      await page.goto(`${basic.service.url}/#/new`);
      await page.locator('#new-form').getByLabel('Playlist URLs').fill(basic.playlist('fast'));
      await page.getByRole('button', { name: 'Add download' }).click();
      await page.locator('#task-list > li[data-status="completed"]').waitFor({ timeout: 30_000 });
    } finally {
      await basic.close();
    }
  });
});

describe('the file route', () => {
  const auth = { authorization: `Bearer ${TOKEN}` };

  test('answers a Range with 206 and exactly those bytes; the name travels in Content-Disposition', async () => {
    const file = await readFile(clip.output_path);
    const part = await rawGet(`/api/v1/tasks/${clip.id}/file`, { ...auth, range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-1999/${file.length}`);
    expect(part.body.equals(file.subarray(1000, 2000))).toBe(true);
    const tail = await rawGet(`/api/v1/tasks/${clip.id}/file`, { ...auth, range: 'bytes=-100' });
    expect(tail.status).toBe(206);
    expect(tail.body.equals(file.subarray(file.length - 100))).toBe(true);
    const whole = await rawGet(`/api/v1/tasks/${clip.id}/file`, auth);
    expect(whole.status).toBe(200);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.headers['content-disposition']).toBe('attachment; filename="clip.mp4"');
    expect(whole.body.equals(file)).toBe(true);

    const unicode = await rawGet(`/api/v1/tasks/${named.id}/file?disposition=inline`, auth);
    expect(unicode.status).toBe(200);
    expect(path.basename(named.output_path)).toBe('视频 第1集.mp4');
    expect(unicode.headers['content-disposition']).toBe(`inline; filename="__ _1_.mp4"; filename*=UTF-8''${encodeURIComponent('视频 第1集.mp4')}`);
    const poster = await rawGet(`/api/v1/tasks/${clip.id}/poster`, auth);
    expect(poster.status).toBe(200);
    expect(poster.headers['content-type']).toBe('image/jpeg');
    expect(poster.body.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(true);
  });

  test('is token-guarded; a signed link opens that one file for a while and nothing else', async () => {
    expect((await rawGet(`/api/v1/tasks/${clip.id}/file`)).status).toBe(401);
    expect((await rawGet(`/api/v1/tasks/${clip.id}/poster`)).status).toBe(401);
    const { path: link } = await api<{ path: string }>('POST', `/tasks/${clip.id}/file-link`);
    const viaLink = await rawGet(`/${link}`);
    expect(viaLink.status).toBe(200);
    expect(viaLink.body.equals(await readFile(clip.output_path))).toBe(true);
    const query = link.slice(link.indexOf('?'));
    // The same signature on another task, on the poster, or altered: refused.
    expect((await rawGet(`/api/v1/tasks/${named.id}/file${query}`)).status).toBe(401);
    expect((await rawGet(`/api/v1/tasks/${clip.id}/poster${query}`)).status).toBe(401);
    expect((await rawGet(`/${link.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`)}`)).status).toBe(401);
    expect((await rawGet(`/${link.replace(/expires=\d+/, `expires=${Date.now() + 10 ** 10}`)}`)).status).toBe(401);
    expect((await rawGet(`/api/v1/tasks${query}`)).status).toBe(401);
  });

  test('serves no other path: traversal, foreign ids, a file swapped for a symlink are all refused', async () => {
    const passwd = await readFile('/etc/passwd');
    for (const attempt of [
      `/api/v1/tasks/${clip.id}/file/../../../../etc/passwd`,
      `/api/v1/tasks/${clip.id}/../../../../etc/passwd`,
      `/api/v1/tasks/..%2f..%2f..%2fetc%2fpasswd/file`,
      `/api/v1/tasks/${clip.id}%2f..%2f..%2fetc%2fpasswd/file`,
      `/api/v1/tasks/${clip.id}/file?path=/etc/passwd&file=../../etc/passwd`,
      `/api/v1/tasks/999/file`,
    ]) {
      const res = await rawGet(attempt, auth);
      expect(res.body.includes(passwd), attempt).toBe(false);
      if (!attempt.includes('?path=')) expect(res.status, attempt).toBe(404);
    }
    // Not finished: nothing to serve.
    const { task_ids } = await api<{ task_ids: number[] }>('POST', '/tasks', { url: h.playlist('stuck'), filename: 'not-yet' });
    await waitFor(async () => (await api<V1Task>('GET', `/tasks/${task_ids[0]}`)).status === 1, { timeoutMs: 20_000, what: 'running' });
    const running = await rawGet(`/api/v1/tasks/${task_ids[0]}/file`, auth);
    expect(running.status).toBe(404);
    expect(JSON.parse(running.body.toString()).message).toContain('has no file yet');
    // The output replaced by a symlink to a file outside: refused, not followed.
    const moved = `${named.output_path}.moved`;
    await rename(named.output_path, moved);
    await symlink('/etc/passwd', named.output_path);
    expect((await lstat(named.output_path)).isSymbolicLink()).toBe(true);
    const swapped = await rawGet(`/api/v1/tasks/${named.id}/file`, auth);
    expect(swapped.status).toBe(404);
    expect(swapped.body.includes(passwd)).toBe(false);
  });

  test('deleting a task removes its poster (the service\'s) and keeps its file (the user\'s)', async () => {
    const poster = (await h.service.manager.get(clip.id)).poster_path!;
    expect(poster.startsWith(path.join(path.dirname(h.downloadDir), 'data', 'posters'))).toBe(true);
    expect((await lstat(poster)).isFile()).toBe(true);
    await api('DELETE', `/tasks/${clip.id}`);
    await expect(lstat(poster)).rejects.toThrow(/ENOENT/);
    expect((await lstat(clip.output_path)).isFile()).toBe(true);
  });
});
