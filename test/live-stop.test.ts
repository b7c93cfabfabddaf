// Ending a recording by hand (v1 stop, compat PUT 已暂停) and waiting for a stream
// that starts late (live_wait), through the HTTP APIs of the real service.
import { describe, expect, it } from 'vitest';
import { decodeErrors, ffprobe } from './helpers/ffprobe.js';
import { useLiveSuite } from './helpers/live-service.js';

describe('stopping and waiting for live recordings', () => {
  const { live, sim } = useLiveSuite();

  /** The output holds what was recorded: its duration matches recorded_s and it decodes. */
  async function expectPlayable(path: string, recorded: number) {
    const media = await ffprobe(path);
    expect(media.streams.map((s) => s.type).sort()).toEqual(['audio', 'video']);
    expect(Math.abs(media.duration - recorded)).toBeLessThanOrEqual(0.5);
    expect(await decodeErrors(path)).toBe('');
  }

  it('POST /api/v1/tasks/:id/stop finishes the recording: 已完成 with what was recorded', async () => {
    const origin = await sim({ window: 2 });
    const id = await live.create({ url: origin.url, filename: 'stop-v1' });
    await live.until(id, (t) => t.recorded_s >= 2, 'two seconds recorded');
    const res = await fetch(`${live.svc.url}/api/v1/tasks/${id}/stop`, { method: 'POST' });
    expect(res.status).toBe(200);
    const answered = ((await res.json()) as { data: { status: number } }).data;
    expect(answered.status).toBe(2);
    const done = await live.task(id);
    expect(done).toMatchObject({ status: 2, status_label: '已完成', live: true, progress: 100 });
    expect(done.status_bar).toContain('stopped by the user');
    expect(done.recorded_s).toBeGreaterThanOrEqual(2);
    await expectPlayable(done.output_path, done.recorded_s);
    // Resuming a finished recording is not a thing: it is completed.
    expect((await fetch(`${live.svc.url}/api/v1/tasks/${id}/resume`, { method: 'POST' })).status).toBe(409);
  });

  it('PUT /api/tasks {"status":"已暂停"} on the compat API finishes it the same way', async () => {
    const origin = await sim({ window: 2 });
    const id = await live.create({ url: origin.url, filename: 'stop-compat' });
    await live.until(id, (t) => t.recorded_s >= 1.5, 'some recorded');
    const compat = (await (await fetch(`${live.svc.url}/api/tasks`)).json()) as Array<{ id: string; status: string; status_bar: string }>;
    const row = compat.find((t) => t.id === String(id))!;
    expect(row.status).toBe('下载中');
    // The compat API speaks the Go original's Chinese: `[00:00:02]录制中 速度 …`.
    expect(row.status_bar).toMatch(/^\[00:00:\d\d\]录制中/);
    const res = await fetch(`${live.svc.url}/api/tasks?id=${id}`, { method: 'PUT', body: JSON.stringify({ status: '已暂停' }) });
    expect(res.status).toBe(200);
    const done = await live.finished(id);
    expect(done).toMatchObject({ status: 2, status_label: '已完成' });
    expect(done.status_bar).toContain('stopped by the user');
    await expectPlayable(done.output_path, done.recorded_s);
  });

  it('an origin that goes away ends the recording after live_idle_timeout with what was recorded', async () => {
    const origin = await sim({ window: 2 });
    const id = await live.create({ url: origin.url, filename: 'gone-away', options: { live_idle_timeout: 2 } });
    await live.until(id, (t) => t.recorded_s >= 1.5, 'some recorded');
    await origin.close();
    const done = await live.finished(id);
    expect(done.err_msg).toBe('');
    expect(done).toMatchObject({ status: 2, status_label: '已完成' });
    expect(done.status_bar).toContain('no new segment within live_idle_timeout');
    await expectPlayable(done.output_path, done.recorded_s);
  });

  it('live_wait catches a stream whose playlist answers 404, then lists nothing, before it starts', async () => {
    const origin = await sim({ window: 3, appearAfterMs: 2_000, emptyMs: 1_000, endAfter: 10 });
    const id = await live.create({ url: origin.url, filename: 'late', options: { live_wait: 20 } });
    const waiting = await live.until(id, (t) => t.status_bar.startsWith('waiting'), 'the wait shown');
    expect(waiting.status_bar).toMatch(/^waiting for the stream to start \(live_wait, until \d{4}-/);
    const done = await live.finished(id);
    expect(done.err_msg).toBe('');
    expect(done.status).toBe(2);
    expect(origin.requests.some((r) => r.path === '/live/index.m3u8' && r.status === 404)).toBe(true);
    await expectPlayable(done.output_path, done.recorded_s);
  });

  it('fails saying so when the stream does not start within live_wait', async () => {
    const origin = await sim({ window: 3, appearAfterMs: 30_000 });
    const id = await live.create({ url: origin.url, filename: 'never', options: { live_wait: 2 } });
    const done = await live.finished(id);
    expect(done.status).toBe(3);
    expect(done.err_msg).toContain('did not start within live_wait (2 s)');
    expect(done.err_msg).toContain('404');
  });
});
