// The merge that follows the download (src/merge/follow-merge.ts), through the
// real service: the file it writes while segments arrive holds what the merge
// after the download writes (duration, packets per stream) for TS, fMP4, byte
// ranges and AES-128; streams it does not follow (discontinuities, a separate
// audio track, subtitles, packed audio) still come out right through the ordinary merge; a pause stops
// its ffmpeg and leaves no partial file; a kill -9 while it runs, then a
// restart, ends in one correct MP4.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureKind } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { tempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';
import { CLI, startServiceProcess } from './helpers/service-process.js';

const run = promisify(execFile);

interface V1Task {
  id: number;
  status: number;
  phase: string;
  err_msg: string;
  segments_done: number;
  output_path: string;
}

/** Per stream type, the packets ffprobe reads and the stream's duration: what "the same file" means here. */
async function packets(file: string): Promise<Record<string, { packets: number; duration: number }>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,nb_read_packets,duration', '-of', 'json', file], { maxBuffer: 16 << 20 });
  const streams = (JSON.parse(stdout) as { streams: Array<{ codec_type: string; nb_read_packets: string; duration?: string }> }).streams;
  return Object.fromEntries(streams.map((s) => [s.codec_type, { packets: Number(s.nb_read_packets), duration: Number(s.duration ?? Number.NaN) }]));
}

/** The first packet time of each audio stream: where it is placed against the video. */
async function audioStarts(file: string): Promise<number[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', file]);
  return stdout.trim().split('\n').map(Number);
}

/** ffmpeg processes whose parent is `ppid` and whose command line names a `.part` output. */
async function ffmpegChildren(ppid: number): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent !== ppid) continue;
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      if (cmd.some((arg) => /ffmpeg/.test(path.basename(arg))) && cmd.some((arg) => arg.endsWith('.part'))) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function api<T>(base: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/api/v1${route}`, { method, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  const json = (await res.json()) as { code: number; message: string; data: T };
  if (json.code !== 0) throw new Error(`${method} ${route}: ${json.message}`);
  return json.data;
}

async function create(base: string, url: string, filename: string, options: Record<string, unknown>): Promise<number> {
  const data = await api<{ task_ids: number[] }>(base, 'POST', '/tasks', { url, filename, options: { debug_log: true, download_threads: 2, ...options } });
  return data.task_ids[0]!;
}

const taskOf = (base: string, id: number) => api<V1Task>(base, 'GET', `/tasks/${id}`);

async function finished(base: string, id: number): Promise<V1Task> {
  return waitFor(async () => {
    const task = await taskOf(base, id);
    if (task.status === 3) throw new Error(`task ${id} failed: ${task.err_msg}`);
    return task.status === 2 ? task : undefined;
  }, { timeoutMs: 90_000, intervalMs: 50, what: `task ${id} to complete` });
}

describe('merge that follows the download', () => {
  let svc: TestService;
  const servers: HlsServer[] = [];
  const logOf = (id: number) => readFile(path.join(svc.dataDir, 'logs', `task-${id}.log`), 'utf8');

  beforeAll(async () => {
    svc = await withService({}, { prefix: 'm3u8dm-follow-' });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  async function origin(kind: FixtureKind, latencyMs: number) {
    const fixture = await ensureFixture(kind);
    const server = await startHlsServer({ root: fixture.dir, latencyMs });
    servers.push(server);
    return { fixture, url: server.url(fixture.playlist) };
  }

  it.each<[FixtureKind, Record<string, unknown>]>([
    ['ts', {}],
    ['fmp4', {}],
    ['byterange', {}],
    ['aes', {}],
    ['ts', { format: 'mkv' }],
    ['ts', { format: 'ts' }],
    ['ts', { skip_ts_info: '1-2' }],
    // Runs through pipes: a discontinuity, and a hole a skip rule leaves in the middle.
    ['discontinuity', {}],
    // The separate audio rendition through a pipe of its own beside the video.
    ['alt-audio', {}],
    ['alt-audio', { format: 'mkv' }],
    ['discontinuity', { format: 'mkv' }],
    ['ts', { skip_ts_info: '4-5' }],
  ])('%s %j: the followed file holds what the merge after the download writes', async (kind, extra) => {
    // Latency spreads the arrivals, so the remux really runs while segments are still coming.
    const { fixture, url } = await origin(kind, 30);
    const format = (extra.format as string | undefined) ?? 'mp4';
    const followed = await create(svc.url, url, `follow-${kind}-${format}`, extra);
    const sequential = await create(svc.url, url, `sequential-${kind}-${format}`, { ...extra, follow_merge: false });
    const [a, b] = [await finished(svc.url, followed), await finished(svc.url, sequential)];
    expect(await logOf(followed)).toMatch(/merge: followed the download/);
    expect(await logOf(sequential)).not.toMatch(/following the download/);
    const seconds = fixture.duration - (extra.skip_ts_info ? 2 : 0);
    const runs = kind === 'discontinuity' || extra.skip_ts_info === '4-5' ? 2 : 1;
    expectMedia(await ffprobe(a.output_path), format as 'mp4' | 'mkv' | 'ts', seconds, runs - 1);
    if (runs > 1) expect(await logOf(followed)).toMatch(/-f concat -safe 0 -protocol_whitelist file,pipe -i runs\.ffconcat[^]*ffmpeg: pipes 3–4 through FIFOs/);
    // The stream goes through a FIFO (fifo.ts), beside separate audio too (that through its pipe).
    else if (format !== 'ts') expect(await logOf(followed)).toMatch(/ -i pipe:0 [^]*ffmpeg: stdin through FIFOs/);
    expect(await logOf(sequential)).not.toMatch(/through FIFOs/);
    expect(await packets(a.output_path)).toEqual(await packets(b.output_path));
    // The same streams, codecs, languages and default flags (the audio rendition's tags among them).
    expect((await ffprobe(a.output_path)).streams).toEqual((await ffprobe(b.output_path)).streams);
    // No `.part` nor private output folder left beside the outputs.
    expect((await readdir(path.dirname(a.output_path))).filter((f) => f.startsWith('.'))).toEqual([]);
    // The work folders are gone too: set aside before the completion, removed right after it.
    const ours = (name: string) => [followed, sequential].some((id) => name === String(id) || name.startsWith(`.m3u8dm-done-${id}-`));
    await waitFor(async () => !(await readdir(path.join(svc.dataDir, 'work'))).some(ours), { timeoutMs: 5_000, what: 'the work folders removed' });
  });

  it.each<[FixtureKind, RegExp]>([
    ['subtitles', /not following the download: subtitles, muxed in as more inputs/],
  ])('%s: not followed, and the file is the one the ordinary merge writes', async (kind, reason) => {
    const { fixture, url } = await origin(kind, 10);
    const id = await create(svc.url, url, `fallback-${kind}`, {});
    const reference = await create(svc.url, url, `fallback-${kind}-sequential`, { follow_merge: false });
    const [a, b] = [await finished(svc.url, id), await finished(svc.url, reference)];
    expect(await logOf(id)).toMatch(reason);
    const media = await ffprobe(a.output_path);
    expect(Math.abs(media.duration - fixture.duration)).toBeLessThanOrEqual(fixture.duration * 0.02);
    expect(media.streams.map((s) => s.type).sort()).toEqual((await ffprobe(b.output_path)).streams.map((s) => s.type).sort());
    expect(await packets(a.output_path)).toEqual(await packets(b.output_path));
  });

  it('two separate audio renditions (audio "all"): a pipe each, the same file as the merge after the download', async () => {
    const fixture = await ensureFixture('alt-audio');
    const server = await startHlsServer({ root: fixture.dir, latencyMs: 30 });
    servers.push(server);
    // The fixture's audio rendition twice, as English and French (the query keeps the two playlists apart).
    server.override((_req, res, urlPath) => {
      if (urlPath !== '/two-audio.m3u8') return false;
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end([
        '#EXTM3U',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio/index.m3u8"',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Français",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,URI="audio/index.m3u8?fr"',
        '#EXT-X-STREAM-INF:BANDWIDTH=600000,RESOLUTION=320x240,CODECS="avc1.42c00d,mp4a.40.2",AUDIO="aud"',
        'video/index.m3u8',
        '',
      ].join('\n'));
      return true;
    });
    const url = server.url('two-audio.m3u8');
    const followed = await create(svc.url, url, 'two-audio', { audio: 'all' });
    const sequential = await create(svc.url, url, 'two-audio-sequential', { audio: 'all', follow_merge: false });
    const [a, b] = [await finished(svc.url, followed), await finished(svc.url, sequential)];
    expect(await logOf(followed)).toMatch(/merge: all segments of 2 audio track\(s\) fed to the remux/);
    expect(await logOf(followed)).toMatch(/merge: followed the download/);
    const media = await ffprobe(a.output_path);
    expect(media.streams.filter((s) => s.type === 'audio').map((s) => [s.language, s.isDefault])).toEqual([['eng', true], ['fre', false]]);
    expect(media.streams).toEqual((await ffprobe(b.output_path)).streams);
    expect(await packets(a.output_path)).toEqual(await packets(b.output_path));
  });

  it.each(['aac', 'mp3', 'ac3', 'ec3'])('an audio-only stream of packed %s: its frames without the ID3 tags into the remux', async (codec) => {
    const fixture = await ensureFixture('packed-audio');
    const server = await startHlsServer({ root: fixture.dir, latencyMs: 30 });
    servers.push(server);
    const url = server.url(`${codec}/index.m3u8`);
    const followed = await create(svc.url, url, `packed-only-${codec}`, { format: 'mkv' });
    const sequential = await create(svc.url, url, `packed-only-${codec}-sequential`, { format: 'mkv', follow_merge: false });
    const [a, b] = [await finished(svc.url, followed), await finished(svc.url, sequential)];
    expect(await logOf(followed)).toMatch(/merge: followed the download/);
    expect(await logOf(followed)).toMatch(/segments of packed \w+ audio fed to the remux/);
    const media = await ffprobe(a.output_path);
    expect(media.streams.map((s) => s.type)).toEqual(['audio']);
    const reference = await ffprobe(b.output_path);
    expect(media.duration).toBe(reference.duration);
    expect(media.streams).toEqual(reference.streams);
    expect(await packets(a.output_path)).toEqual(await packets(b.output_path));
  });

  it.each<[string, Record<string, unknown>]>([
    ['master.m3u8', {}],
    ['master.m3u8', { audio: 'all', format: 'mkv' }],
    // The English rendition starts a segment late: only its ID3 time says so, and it must play that late.
    ['master-late.m3u8', {}],
  ])('packed-AAC renditions (%s %j): without their ID3 tags through a pipe, placed by ID3 time as the merge places them', async (playlist, extra) => {
    const fixture = await ensureFixture('packed-audio');
    const server = await startHlsServer({ root: fixture.dir, latencyMs: 30 });
    servers.push(server);
    const url = server.url(playlist);
    const name = `packed-${playlist.replace(/\W/g, '')}-${Object.keys(extra).length}`;
    const followed = await create(svc.url, url, name, extra);
    const sequential = await create(svc.url, url, `${name}-sequential`, { ...extra, follow_merge: false });
    const [a, b] = [await finished(svc.url, followed), await finished(svc.url, sequential)];
    expect(await logOf(followed)).toMatch(/merge: followed the download/);
    expect(await logOf(followed)).toMatch(/-f aac -i pipe:3/);
    if (playlist === 'master-late.m3u8') expect(await logOf(followed)).toMatch(/-itsoffset \d\.\d+ -f aac -i pipe:3/);
    expect((await ffprobe(a.output_path)).streams).toEqual((await ffprobe(b.output_path)).streams);
    expect(await packets(a.output_path)).toEqual(await packets(b.output_path));
    expect(await audioStarts(a.output_path)).toEqual(await audioStarts(b.output_path));
  });

  it('an http.code skip in the middle drops the follower; the merge closes the hole', async () => {
    const fixture = await ensureFixture('ts');
    const server = await startHlsServer({ root: fixture.dir, latencyMs: 30 });
    servers.push(server);
    server.override((_req, res, urlPath) => {
      if (urlPath !== '/seg006.ts') return false;
      res.writeHead(403).end();
      return true;
    });
    const id = await create(svc.url, server.url(fixture.playlist), 'hole', { skip_ts_info: 'http.code=403' });
    const task = await finished(svc.url, id);
    expect(await logOf(id)).toMatch(/not following the download: segment 7 was skipped/);
    expectMedia(await ffprobe(task.output_path), 'mp4', fixture.duration - 1);
  });

  it.each<[FixtureKind, number]>([
    ['long', 60],
    // Two inputs: the video through stdin, the separate audio through a pipe of its own.
    ['alt-audio', 250],
  ])('%s: a pause while it runs kills its ffmpeg and leaves no partial output; the resume starts it again', async (kind, latencyMs) => {
    const { fixture, url } = await origin(kind, latencyMs);
    const id = await create(svc.url, url, `paused-${kind}`, {});
    const saveDir = svc.downloadDir;
    await waitFor(async () => (await ffmpegChildren(process.pid)).length > 0, { timeoutMs: 30_000, what: 'the following ffmpeg to start' });
    await waitFor(async () => (await taskOf(svc.url, id)).segments_done >= 4, { timeoutMs: 30_000, what: 'a few segments' });
    expect((await taskOf(svc.url, id)).status).toBe(1);
    await api(svc.url, 'POST', `/tasks/${id}/stop`);
    expect((await taskOf(svc.url, id)).status).toBe(4);
    expect(await ffmpegChildren(process.pid)).toEqual([]);
    // Neither its `.part` nor the private folder it was written in.
    expect((await readdir(saveDir)).filter((f) => f.startsWith('.'))).toEqual([]);

    await api(svc.url, 'POST', `/tasks/${id}/resume`);
    const done = await finished(svc.url, id);
    expect((await logOf(id)).match(/merge: following the download/g)?.length).toBe(2);
    expectMedia(await ffprobe(done.output_path), 'mp4', fixture.duration);
    expect((await packets(done.output_path)).video?.packets).toBe(fixture.duration * 25);
  });
});

describe.runIf(existsSync(CLI))('merge that follows the download, crash', () => {
  it('kill -9 while it runs, then a restart, ends in one correct MP4', async () => {
    const { path: dir, cleanup } = await tempDir('m3u8dm-follow-crash-');
    const fixture = await ensureFixture('long');
    const server = await startHlsServer({ root: fixture.dir, latencyMs: 60 });
    const env = { M3U8DM_DATA_DIR: path.join(dir, 'data'), M3U8DM_DOWNLOAD_DIR: path.join(dir, 'downloads') };
    let service = await startServiceProcess(env);
    try {
      const id = await create(service.url, server.url(fixture.playlist), 'crash', {});
      const pid = service.child.pid!;
      const [orphan] = await waitFor(async () => { const found = await ffmpegChildren(pid); return found.length ? found : undefined; }, { timeoutMs: 30_000, what: 'the following ffmpeg' });
      await waitFor(async () => (await taskOf(service.url, id)).segments_done >= 6, { timeoutMs: 30_000, what: 'a few segments' });
      expect(await service.stop('SIGKILL')).toBe('SIGKILL');
      // Its ffmpeg outlives it (stdin closed, it finishes the part it had); the restart must not mind.
      service = await startServiceProcess(env);
      const done = await finished(service.url, id);
      await waitFor(() => !existsSync(`/proc/${orphan}`), { timeoutMs: 20_000, what: 'the orphaned ffmpeg to end' });
      expect(await readdir(path.join(dir, 'downloads'))).toEqual(['crash.mp4']);
      expect(done.output_path).toBe(path.join(dir, 'downloads', 'crash.mp4'));
      expectMedia(await ffprobe(done.output_path), 'mp4', fixture.duration);
      expect((await packets(done.output_path)).video?.packets).toBe(fixture.duration * 25);
    } finally {
      await service.stop();
      await server.close();
      await cleanup();
    }
  });
});
