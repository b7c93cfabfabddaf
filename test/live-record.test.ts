// Live recording through the v1 API: a simulated live origin, the real service,
// real ffmpeg merge, the output probed and decoded.
import { describe, expect, it } from 'vitest';
import { decodeErrors, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { startHlsServer } from './helpers/hls-server.js';
import { useLiveSuite } from './helpers/live-service.js';

describe('live recording', () => {
  const { live, sim } = useLiveSuite();

  it('records a live playlist until EXT-X-ENDLIST, showing the recording while it runs', async () => {
    const origin = await sim({ window: 10, endAfter: 20 });
    const id = await live.create({ url: origin.url, filename: 'to-endlist', options: { download_threads: 2 } });
    const recording = await live.until(id, (t) => t.phase === 'recording' && t.segments_done > 0, 'recording');
    expect(recording).toMatchObject({ live: true, status: 1, status_label: '下载中' });
    expect(recording.status_bar).toMatch(/^recording · \d\d:\d\d:\d\d · [\d.]+ [KM]?B/);
    expect(recording.progress).toBeLessThan(100);
    expect(recording.recorded_s).toBeGreaterThan(0);
    const compat = (await (await fetch(`${live.svc.url}/api/tasks`)).json()) as Array<{ id: string; status: string }>;
    expect(compat.find((t) => t.id === String(id))?.status).toMatch(/下载中|已完成/);

    const done = await live.finished(id);
    expect(done.err_msg).toBe('');
    expect(done).toMatchObject({ status: 2, live: true, progress: 100 });
    expect(done.status_bar).toMatch(/recorded 00:00:\d\d \(the stream ended\)/);
    // Window start: every segment from the first one the task's first load listed, to the last.
    const firstLoad = origin.requests.find((r) => r.path === '/live/index.m3u8')!;
    const from = Math.max(0, origin.countAt(firstLoad.at) - 10);
    const published = origin.published().slice(from);
    expect(published.length).toBeGreaterThanOrEqual(10);
    const expected = published.reduce((sum, s) => sum + s.duration, 0);
    expect(done.segments_done).toBe(published.length);
    expect(Math.abs(done.recorded_s - expected)).toBeLessThan(0.01);
    const media = await ffprobe(done.output_path);
    expect(media.streams.map((s) => s.type).sort()).toEqual(['audio', 'video']);
    expect(Math.abs(media.duration - expected)).toBeLessThanOrEqual(0.5);
    expect(await decodeErrors(done.output_path)).toBe('');
    expect(origin.fetchedTwice()).toEqual([]);
    // RFC 8216 §6.3.4: never reloaded sooner than half the target duration (1 s) after the previous load.
    const loads = origin.requests.filter((r) => r.path === '/live/index.m3u8').map((r) => r.at);
    expect(loads.length).toBeGreaterThanOrEqual(4);
    const gaps = loads.slice(1).map((at, i) => at - loads[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(450);
  });

  it('records a master playlist whose variant is a live EVENT playlist', async () => {
    const origin = await sim({ window: 4, endAfter: 10, playlistType: 'EVENT' });
    const id = await live.create({ url: origin.masterUrl, filename: 'event' });
    const done = await live.finished(id);
    expect(done.err_msg).toBe('');
    expect(done).toMatchObject({ status: 2, live: true, segments_done: 10 });
    const media = await ffprobe(done.output_path);
    expect(Math.abs(media.duration - 5)).toBeLessThanOrEqual(0.5);
  });

  it('records a live fMP4 playlist (EXT-X-MAP init section fetched once)', async () => {
    const origin = await sim({ window: 3, endAfter: 6, fmp4: true, segmentMs: 1_000 });
    const id = await live.create({ url: origin.url, filename: 'fragments' });
    const done = await live.finished(id);
    expect(done.err_msg).toBe('');
    expect(done).toMatchObject({ status: 2, live: true, segments_done: 6 });
    expect(origin.requests.filter((r) => r.path === '/live/init.mp4')).toHaveLength(1);
    const media = await ffprobe(done.output_path);
    expect(media.streams.map((s) => s.type).sort()).toEqual(['audio', 'video']);
    expect(Math.abs(media.duration - 6)).toBeLessThanOrEqual(1);
    expect(await decodeErrors(done.output_path)).toBe('');
  });

  it('stops at live_max_duration given as "HH:MM:SS", the output that long within one segment', async () => {
    const origin = await sim({ window: 2 });
    const id = await live.create({ url: origin.url, filename: 'limited', options: { live_max_duration: '00:00:03' } });
    const recording = await live.until(id, (t) => t.phase === 'recording' && t.recorded_s >= 1, 'a second recorded');
    expect(recording.progress).toBeGreaterThan(0);
    expect(recording.progress).toBeLessThan(96);
    expect(recording.status_bar).toContain(' / 00:00:03');
    const done = await live.finished(id);
    expect(done.err_msg).toBe('');
    expect(done.status).toBe(2);
    expect(done.status_bar).toContain('live_max_duration reached');
    const media = await ffprobe(done.output_path);
    expect(media.duration).toBeGreaterThanOrEqual(3 - 0.1);
    expect(media.duration).toBeLessThanOrEqual(3 + 0.5 + 0.1);
  });

  it('starts at the live edge with live_start "edge": the last 3 segments listed, then what follows', async () => {
    const origin = await sim({ window: 8 });
    const id = await live.create({ url: origin.url, filename: 'edge', options: { live_start: 'edge', live_max_duration: 3 } });
    const done = await live.finished(id);
    expect(done.status).toBe(2);
    const firstLoad = origin.requests.find((r) => r.path === '/live/index.m3u8')!;
    const listed = origin.countAt(firstLoad.at);
    const fetched = origin.requests.filter((r) => /\/seg-\d+\.ts$/.test(r.path)).map((r) => Number(/seg-(\d+)/.exec(r.path)![1]));
    const first = Math.min(...fetched);
    // The window listed `listed - 8 … listed - 1` at the first load; edge takes the last 3 of those.
    expect(first).toBe(listed - 3);
    expect(fetched.sort((a, b) => a - b)).toEqual(Array.from({ length: fetched.length }, (_, i) => first + i));
  });

  it('refuses a bad live_max_duration with a 400 naming the field', async () => {
    const url = 'http://127.0.0.1:9/live.m3u8';
    for (const bad of [0, -5, 'abc', 604_801, '200:00:00', '00:61:00', true]) {
      const refused = await live.refuse({ url, options: { live_max_duration: bad } });
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(refused.message).toContain('options.live_max_duration');
    }
    const start = await live.refuse({ url, options: { live_start: 'middle' } });
    expect(start.status).toBe(400);
    expect(start.message).toContain('options.live_start');
    const idle = await live.refuse({ url, options: { live_idle_timeout: 0 } });
    expect(idle.status).toBe(400);
    expect(idle.message).toContain('options.live_idle_timeout');
  });

  it('records a VOD playlist as VOD when live options are set', async () => {
    const fixture = await ensureFixture('ts');
    const server = await startHlsServer({ root: fixture.dir });
    try {
      const id = await live.create({ url: server.url('index.m3u8'), filename: 'vod', options: { live_max_duration: 2, live_start: 'edge', live_idle_timeout: 1 } });
      const done = await live.finished(id);
      expect(done).toMatchObject({ status: 2, live: false, segments_done: 12 });
      expect(Math.abs((await ffprobe(done.output_path)).duration - 12)).toBeLessThanOrEqual(0.2);
    } finally {
      await server.close();
    }
  });

  it('fails with the URL and the status when every segment of a live playlist answers 404', async () => {
    const origin = await sim({ window: 4, segmentStatus: 404 });
    const id = await live.create({ url: origin.url, filename: 'gone', options: { live_idle_timeout: 2 } });
    const done = await live.finished(id);
    expect(done.status).toBe(3);
    expect(done.err_msg).toMatch(/seg-\d+\.ts/);
    expect(done.err_msg).toContain(origin.origin);
    expect(done.err_msg).toContain('404');
  });
});
