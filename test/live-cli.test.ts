// `m3u8dm get` on a live stream: the built binary records it, --live-max-duration
// ends it, Ctrl-C finishes the file, a second Ctrl-C aborts at once.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killCliChildren, runCli, startCli } from './helpers/cli-run.js';
import { decodeErrors, ffprobe } from './helpers/ffprobe.js';
import { startLiveSim, type LiveSim } from './helpers/live-hls.js';
import { startLiveService } from './helpers/live-service.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';

describe('m3u8dm get on a live stream', () => {
  let dir: TempDir;
  let origin: LiveSim;
  beforeAll(async () => {
    dir = await tempDir('m3u8dm-livecli-');
    origin = await startLiveSim({ window: 2, lifetimeMs: 60_000 });
  });
  afterAll(async () => {
    killCliChildren();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await origin?.close();
    await dir.cleanup();
  });

  it('records until --live-max-duration and prints the output path', async () => {
    const out = path.join(dir.path, 'limit.mp4');
    const { code, stdout, stderr } = await runCli(['get', origin.url, '-o', out, '--live-max-duration', '00:00:02'], { timeoutMs: 30_000 });
    expect(stderr).toMatch(/recording · 00:00:\d\d/);
    expect(stderr).toMatch(/done · recorded 00:00:02 \(live_max_duration reached\)/);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(out);
    const media = await ffprobe(out);
    expect(media.duration).toBeGreaterThanOrEqual(1.9);
    expect(media.duration).toBeLessThanOrEqual(2.6);
  });

  it('m3u8dm add --live-max-duration queues a recording on the service that stops at the limit', async () => {
    const live = await startLiveService();
    try {
      const { code, stdout } = await runCli(['add', origin.url, '-o', 'queued', '--live-max-duration', '2', '--json', '--server', live.svc.url]);
      expect(code).toBe(0);
      const id = (JSON.parse(stdout) as { task_ids: number[] }).task_ids[0]!;
      const done = await live.finished(id);
      expect(done).toMatchObject({ status: 2, live: true });
      expect(done.status_bar).toContain('live_max_duration reached');
      expect(done.recorded_s).toBeGreaterThanOrEqual(2);
      expect(done.recorded_s).toBeLessThanOrEqual(2.5);
    } finally {
      await live.close();
    }
  });

  it('refuses a bad --live-max-duration as a usage error naming the option', async () => {
    const { code, stderr } = await runCli(['get', origin.url, '--live-max-duration', '0']);
    expect(code).toBe(2);
    expect(stderr).toContain('--live-max-duration must be seconds of media');
  });

  it('Ctrl-C ends the recording and writes a playable file', async () => {
    const out = path.join(dir.path, 'ctrl-c.mp4');
    const run = startCli(['get', origin.url, '-o', out], { timeoutMs: 30_000 });
    await waitFor(() => /recording · 00:00:0[2-9]/.test(run.stderr()), { timeoutMs: 20_000, what: 'two seconds recorded' });
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.stderr()).toContain('ending the recording');
    expect(run.stderr()).toMatch(/stopped by the user/);
    const media = await ffprobe(out);
    expect(media.duration).toBeGreaterThanOrEqual(1.5);
    expect(await decodeErrors(out)).toBe('');
  });

  it('a second Ctrl-C aborts at once, leaving no output file', async () => {
    // Slow segments: the first Ctrl-C's clean stop waits for the ones in flight, long enough for a second.
    const slow = await startLiveSim({ window: 2, lifetimeMs: 30_000, segmentDelayMs: 2_000 });
    const out = path.join(dir.path, 'abort.mp4');
    const run = startCli(['get', slow.url, '-o', out], { timeoutMs: 30_000 });
    try {
      await waitFor(() => /recording · 00:00:0[1-9]/.test(run.stderr()), { timeoutMs: 20_000, what: 'recording' });
      run.child.kill('SIGINT');
      await waitFor(() => run.stderr().includes('ending the recording'), { timeoutMs: 10_000, what: 'the first Ctrl-C taken' });
      run.child.kill('SIGINT');
    } finally {
      await slow.close();
    }
    expect(await run.exited).toBe(130);
    expect((await readdir(dir.path)).includes('abort.mp4')).toBe(false);
  });
});
