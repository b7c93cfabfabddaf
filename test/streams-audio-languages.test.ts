// Audio languages through the HTTP API: the v1 option `audio` (`default`,
// `all`, or language codes) muxes one or several alternate audio renditions
// with their LANGUAGE/NAME tags, the DEFAULT one first and flagged default; and
// skip rules trim every track by the same media time (no A/V drift after a
// cut). Real ffmpeg fixtures, real service, real HTTP on 127.0.0.1.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeErrors, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { closeTo, startStreamService, type StreamService } from './helpers/stream-task.js';

const run = promisify(execFile);

let packed: FixtureInfo;
let altAudio: FixtureInfo;
let packedService: StreamService;
let altService: StreamService;
beforeAll(async () => {
  packed = await ensureFixture('packed-audio');
  altAudio = await ensureFixture('alt-audio');
  packedService = await startStreamService(packed.dir);
  altService = await startStreamService(altAudio.dir);
}, 60_000);
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await packedService?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await altService?.close();
});

async function playlistSeconds(file: string): Promise<number> {
  const text = await readFile(file, 'utf8');
  return [...text.matchAll(/#EXTINF:([\d.]+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** First packet start and last packet end of one stream, from ffprobe's packet timestamps. */
async function packetSpan(file: string, stream: string): Promise<{ start: number; end: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 });
  const packets = stdout.trim().split('\n').map((line) => line.split(',').map(Number)).filter(([pts]) => Number.isFinite(pts)) as Array<[number, number]>;
  const starts = packets.map(([pts]) => pts);
  const ends = packets.map(([pts, duration]) => pts + (Number.isFinite(duration) ? duration : 0));
  return { start: Math.min(...starts), end: Math.max(...ends) };
}

describe('streams: audio languages', () => {
  it('audio "all": English and French tracks, tagged, the DEFAULT one first and flagged default', async () => {
    for (const format of ['mp4', 'mkv'] as const) {
      const task = await packedService.runTask(packedService.hls.url('master.m3u8'), { audio: 'all', format }, `both.${format}`);
      expect(task.err_msg).toBe('');
      expect(task.status).toBe('已完成');
      const media = await ffprobe(task.output_path);
      const audio = media.streams.filter((s) => s.type === 'audio');
      expect(media.streams.filter((s) => s.type === 'video')).toHaveLength(1);
      expect(audio.map((s) => [s.codec, s.language, s.title, s.isDefault])).toEqual([
        ['aac', 'eng', 'English', true],
        ['aac', 'fre', 'Français', false],
      ]);
      const expected = await playlistSeconds(path.join(packed.dir, 'aac/index.m3u8'));
      expect(closeTo(media.duration, expected), `duration ${media.duration} s, expected ${expected} s ± 1 %`).toBe(true);
      expect(await decodeErrors(task.output_path)).toBe('');
    }
  });

  it('audio ["fr"]: only the French track, flagged default; audio "default": only the DEFAULT one', async () => {
    const french = await packedService.runTask(packedService.hls.url('master.m3u8'), { audio: ['fr'] });
    expect(french.status).toBe('已完成');
    const frenchAudio = (await ffprobe(french.output_path)).streams.filter((s) => s.type === 'audio');
    expect(frenchAudio.map((s) => [s.language, s.isDefault])).toEqual([['fre', true]]);
    expect(packedService.hls.requests.some((r) => r.path === '/fr/seg000.aac')).toBe(true);

    const standard = await packedService.runTask(packedService.hls.url('master.m3u8'), { audio: 'default' });
    const standardAudio = (await ffprobe(standard.output_path)).streams.filter((s) => s.type === 'audio');
    expect(standardAudio.map((s) => [s.language, s.title])).toEqual([['eng', 'English']]);
  });

  it('refuses a malformed audio option, naming the field', async () => {
    const res = await fetch(`${packedService.svc.url}/api/v1/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: packedService.hls.url('master.m3u8'), options: { audio: 'everything' } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/audio.*"default", "all" or a list of language codes/);
  });

  it.each([
    ['TS renditions', 'alt', 'master.m3u8', { skip_ts_info: '3-4' }],
    ['packed-AAC renditions', 'packed', 'master.m3u8', { skip_ts_info: '3-4', audio: 'all' }],
    ['a leading and a trailing cut', 'alt', 'master.m3u8', { skip_ts_info: '1,7-8' }],
  ] as const)('skip rules cut the audio of %s by the same media time as the video', async (_what, which, playlist, options) => {
    const service = which === 'alt' ? altService : packedService;
    const task = await service.runTask(service.hls.url(playlist), options, `cut-${which}-${options.skip_ts_info.replace(/\W/g, '')}.mkv`);
    expect(task.err_msg).toBe('');
    expect(task.status).toBe('已完成');
    const media = await ffprobe(task.output_path);
    const audioCount = media.streams.filter((s) => s.type === 'audio').length;
    expect(audioCount).toBeGreaterThan(0);
    const video = await packetSpan(task.output_path, 'v:0');
    for (let i = 0; i < audioCount; i++) {
      const audio = await packetSpan(task.output_path, `a:${i}`);
      // No drift: the audio starts and ends with the video (one AAC packet is 23 ms).
      expect(Math.abs(audio.start - video.start), `audio ${i} start`).toBeLessThan(0.05);
      expect(Math.abs(audio.end - video.end), `audio ${i} end`).toBeLessThan(0.05);
    }
    expect(await decodeErrors(task.output_path)).toBe('');
  });
});
