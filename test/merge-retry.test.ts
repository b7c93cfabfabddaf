// A merge that fails keeps the downloaded segments: the task fails with ffmpeg's
// stderr tail, and a retry only re-merges (the origin sees no segment again).
import { execFileSync } from 'node:child_process';
import { chmod, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMedia, ffprobe } from './helpers/ffprobe.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { withService, type TestService } from './helpers/with-service.js';

describe('a failed merge', () => {
  let dir: TempDir;
  let marker: string;
  let origin: HlsServer;
  let svc: TestService;
  let fixture: FixtureInfo;

  beforeAll(async () => {
    fixture = await ensureFixture('ts');
    origin = await startHlsServer({ root: fixture.dir });
    dir = await tempDir('m3u8dm-remerge-');
    marker = path.join(dir.path, 'ffmpeg-works');
    const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
    // Answers -version as ffmpeg (so it is accepted), fails every merge until the marker exists.
    const wrapper = path.join(dir.path, 'flaky-ffmpeg');
    await writeFile(wrapper, [
      '#!/bin/sh',
      `case " $* " in *" -version "*) exec '${real}' "$@";; esac`,
      `if [ -e '${marker}' ]; then exec '${real}' "$@"; fi`,
      'echo "pipe:0: Invalid data found when processing input (injected failure)" >&2',
      'exit 1',
      '',
    ].join('\n'));
    await chmod(wrapper, 0o755);
    // The wrapper is there before the service looks for its ffmpeg: the folder is the test's.
    svc = await withService({ ffmpeg: wrapper }, { dir: dir.path });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await origin?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await dir?.cleanup();
  });

  it('fails with the stderr tail, keeps the segments, and a retry only re-merges', async () => {
    const res = await fetch(`${svc.url}/api/v1/tasks`, { method: 'POST', body: JSON.stringify({ url: origin.url('index.m3u8'), filename: 'remerge' }) });
    const id = ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids[0];
    const read = async () => ((await (await fetch(`${svc.url}/api/v1/tasks/${id}`)).json()) as { data: { status: number; err_msg: string; phase: string; output_path: string } }).data;
    const failed = await waitFor(async () => { const t = await read(); return t.status === 3 ? t : undefined; }, { timeoutMs: 30_000, what: 'merge failure' });
    expect(failed.err_msg).toContain('Invalid data found when processing input (injected failure)');
    expect(failed.phase).toBe('merging');
    const work = path.join(svc.dataDir, 'work', String(id));
    expect((await readdir(work)).filter((f) => /^seg\d+\.ts$/.test(f))).toHaveLength(fixture.segments);
    expect(await readdir(svc.downloadDir).catch(() => [])).toEqual([]);

    const fetchedBefore = origin.requests.length;
    await writeFile(marker, '');
    expect((await fetch(`${svc.url}/api/v1/tasks/${id}/retry`, { method: 'POST' })).status).toBe(200);
    const done = await waitFor(async () => { const t = await read(); return t.status === 2 ? t : undefined; }, { timeoutMs: 30_000, what: 'completion after the retry' });
    expect(origin.requests.length).toBe(fetchedBefore); // nothing downloaded again, not even the playlist
    expectMedia(await ffprobe(done.output_path), 'mp4', fixture.duration);
  });
});
