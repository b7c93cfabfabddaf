// Packed audio end to end through the HTTP API: audio-only playlists of ADTS
// AAC, MP3, AC-3 (named .dat: found by content) and E-AC-3 segments behind ID3
// timestamps, and packed-AAC renditions beside a video whose ID3 timestamps
// decide where the audio sits. Fixtures made by ffmpeg at test time.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeErrors, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { closeTo, ffmpegCopyDuration, startStreamService, type StreamService } from './helpers/stream-task.js';

let fixture: FixtureInfo;
let service: StreamService;
beforeAll(async () => {
  fixture = await ensureFixture('packed-audio');
  service = await startStreamService(fixture.dir);
}, 60_000);
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await service?.close();
});

/** Sum of the playlist's EXTINF durations. */
async function playlistSeconds(relative: string): Promise<number> {
  const text = await readFile(path.join(fixture.dir, relative), 'utf8');
  return [...text.matchAll(/#EXTINF:([\d.]+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/**
 * ffmpeg's copy of the stream. Its hls demuxer reads packed AAC well, but refuses .dat and .ec3 names and
 * rebases each MP3 segment on its own (inflating the length); for those ffmpeg reads the segments joined
 * (the concat protocol), the same frames with nothing in between.
 */
async function referenceSeconds(relative: string, codec: string): Promise<number> {
  if (codec === 'aac') return ffmpegCopyDuration(service.hls.url(relative), service.tmp);
  const text = await readFile(path.join(fixture.dir, relative), 'utf8');
  const files = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => path.join(fixture.dir, path.dirname(relative), l));
  return ffmpegCopyDuration(`concat:${files.join('|')}`, service.tmp);
}

describe('streams: packed audio', () => {
  it.each([
    ['aac/index.m3u8', 'aac', 'mp4'],
    ['mp3/index.m3u8', 'mp3', 'mp4'],
    ['ac3/index.m3u8', 'ac3', 'mkv'],
    ['ec3/index.m3u8', 'eac3', 'mp4'],
    ['aac/index.m3u8', 'aac', 'ts'],
  ] as const)('an audio-only playlist of packed audio (%s) becomes a playable %s… file', async (playlist, codec, format) => {
    const task = await service.runTask(service.hls.url(playlist), { format }, `radio-${codec}.${format}`);
    expect(task.err_msg).toBe('');
    expect(task.status).toBe('已完成');
    expect(path.extname(task.output_path)).toBe(`.${format}`);
    const media = await ffprobe(task.output_path);
    expect(media.streams.map((s) => `${s.type}/${s.codec}`)).toEqual([`audio/${codec}`]);
    const expected = await referenceSeconds(playlist, codec);
    expect(closeTo(media.duration, expected), `duration ${media.duration} s, expected ${expected} s ± 1 %`).toBe(true);
    expect(await decodeErrors(task.output_path)).toBe('');
  });

  it('a packed-AAC rendition beside TS video: one video and one audio stream, in sync by the ID3 timestamps', async () => {
    const task = await service.runTask(service.hls.url('master.m3u8'));
    expect(task.err_msg).toBe('');
    expect(task.status).toBe('已完成');
    const media = await ffprobe(task.output_path);
    expect(media.streams.map((s) => `${s.type}/${s.codec}`).sort()).toEqual(['audio/aac', 'video/h264']);
    const expected = await playlistSeconds('aac/index.m3u8');
    expect(closeTo(media.duration, expected), `duration ${media.duration} s, expected ${expected} s ± 1 %`).toBe(true);
    const video = media.streams.find((s) => s.type === 'video');
    const audio = media.streams.find((s) => s.type === 'audio');
    expect(Math.abs((audio?.startTime ?? NaN) - (video?.startTime ?? NaN))).toBeLessThan(0.05);
    expect(await decodeErrors(task.output_path)).toBe('');
  });

  it('a rendition whose playlist starts a segment later is placed by its ID3 timestamp, not at zero', async () => {
    const task = await service.runTask(service.hls.url('master-late.m3u8'), { format: 'mkv' }, 'late.mkv');
    expect(task.status).toBe('已完成');
    const media = await ffprobe(task.output_path);
    const video = media.streams.find((s) => s.type === 'video');
    const audio = media.streams.find((s) => s.type === 'audio');
    // The late playlist leaves out the first segment, whose EXTINF is its ID3 distance to the video start.
    const full = await readFile(path.join(fixture.dir, 'aac/index.m3u8'), 'utf8');
    const firstSegment = Number(/#EXTINF:([\d.]+)/.exec(full)?.[1]);
    expect(Math.abs((audio?.startTime ?? NaN) - (video?.startTime ?? NaN) - firstSegment)).toBeLessThan(0.05);
    expect(await decodeErrors(task.output_path)).toBe('');
  });
});
