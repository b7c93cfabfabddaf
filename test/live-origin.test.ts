// A live origin that misbehaves while it is recorded: an outage shorter than the
// idle timeout, a media sequence restart, an inserted discontinuity, rotating
// AES-128 keys. The segments are kept beside the output (keep_ts_files) so each
// one can be compared, in order, with what the origin published.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeErrors, ffprobe } from './helpers/ffprobe.js';
import type { LiveSim } from './helpers/live-hls.js';
import { useLiveSuite } from './helpers/live-service.js';

describe('recording a misbehaving live origin', () => {
  const { live, sim } = useLiveSuite();

  /**
   * The kept segment files, in recording order, are exactly the expected segments' plain bytes, each once:
   * with `strict`, every segment published from the first one listed on; else every one any playlist listed
   * (a restarted origin drops its window, so what it published just before may never have been listed).
   */
  async function expectEverySegment(outputPath: string, origin: LiveSim, strict: boolean) {
    const kept = path.join(path.dirname(outputPath), path.basename(outputPath, '.mp4'));
    const names = (await readdir(kept)).filter((n) => n.endsWith('.ts')).sort();
    const listed = origin.listed();
    const published = strict ? origin.published().slice(listed[0]!.n) : listed;
    expect(published.length).toBeGreaterThanOrEqual(12);
    expect(names).toHaveLength(published.length);
    for (const [i, name] of names.entries()) {
      expect((await readFile(path.join(kept, name))).equals(origin.body(published[i]!.n)), `${name} is publication ${i}`).toBe(true);
    }
    expect(origin.fetchedTwice()).toEqual([]);
    const media = await ffprobe(outputPath);
    const expected = published.reduce((sum, s) => sum + s.duration, 0);
    expect(Math.abs(media.duration - expected)).toBeLessThanOrEqual(0.5);
    expect(await decodeErrors(outputPath)).toBe('');
  }

  it('loses no segment over an outage shorter than the idle timeout', async () => {
    const origin = await sim({ window: 12, endAfter: 26 });
    const id = await live.create({ url: origin.url, filename: 'outage', options: { keep_ts_files: true, live_idle_timeout: 10 } });
    await live.until(id, (t) => t.segments_done >= 13, 'the first window recorded');
    await origin.goDown(1_500);
    const done = await live.finished(id);
    expect(done.err_msg).toBe('');
    expect(done.status).toBe(2);
    await expectEverySegment(done.output_path, origin, true);
  });

  it('keeps every segment in order across a media sequence restart and an inserted discontinuity', async () => {
    const origin = await sim({ window: 8 });
    const id = await live.create({ url: origin.url, filename: 'restart', options: { keep_ts_files: true, live_idle_timeout: 10 } });
    await live.until(id, (t) => t.segments_done >= 9, 'some segments recorded');
    origin.restartSequence(0);
    await live.until(id, (t) => t.segments_done >= 12, 'segments after the restart');
    origin.insertDiscontinuity();
    await live.until(id, (t) => t.segments_done >= 15, 'segments after the discontinuity');
    origin.end();
    const done = await live.finished(id);
    expect(done.err_msg).toBe('');
    expect(done.status).toBe(2);
    await expectEverySegment(done.output_path, origin, false);
  });

  it('decrypts segments whose AES-128 key rotates every 3 segments (IV from the media sequence)', async () => {
    const origin = await sim({ window: 8, endAfter: 15, rotateKeyEvery: 3, firstSequence: 1000 });
    const id = await live.create({ url: origin.url, filename: 'keys', options: { keep_ts_files: true } });
    const done = await live.finished(id);
    expect(done.err_msg).toBe('');
    expect(done.status).toBe(2);
    const keys = new Set(origin.requests.filter((r) => /key-\d+\.bin$/.test(r.path)).map((r) => r.path));
    // One key fetch per key period the recording covered (5 when it started with publication 0).
    const periods = new Set(origin.published().slice(origin.listed()[0]!.n).map((seg) => Math.floor(seg.n / 3)));
    expect(periods.size).toBeGreaterThanOrEqual(3);
    expect(keys.size).toBe(periods.size);
    await expectEverySegment(done.output_path, origin, true);
  });
});
