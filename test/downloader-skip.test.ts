// skip_ts_info: the grammar (valid and invalid parts) and its effect on a real
// download: skipped segments are never requested and are listed with a reason.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  downloadStream,
  formatSkippedLog,
  parseSkipExpression,
  SkipExpressionError,
} from '../src/downloader/index.js';
import type { DownloadResult, ProgressSnapshot } from '../src/types.js';
import { downloadOptions } from './helpers/task-options.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';


describe('parseSkipExpression', () => {
  it('parses every kind of part', () => {
    expect(parseSkipExpression(' 1, 92-100 ,http.code=403,time:00:00:10-00:00:20,!time:01:02:03.5-01:02:10,')).toEqual({
      ranges: [
        { from: 1, to: 1, label: 'rule 1' },
        { from: 92, to: 100, label: 'rule 92-100' },
      ],
      httpCodes: [403],
      skipTimes: [{ start: 10, end: 20, label: 'time:00:00:10-00:00:20' }],
      keepTimes: [{ start: 3723.5, end: 3730, label: '!time:01:02:03.5-01:02:10' }],
    });
    expect(parseSkipExpression('')).toEqual({ ranges: [], httpCodes: [], skipTimes: [], keepTimes: [] });
  });

  it.each([
    ['abc', 'expected N, A-B, http.code=N, time:HH:MM:SS-HH:MM:SS or !time:HH:MM:SS-HH:MM:SS'],
    ['0', 'segment numbers start at 1'],
    ['9-3', 'range start 9 is after its end 3'],
    ['4-', 'expected N, A-B'],
    ['http.code=99', 'HTTP status must be 100–599, got 99'],
    ['http.code=abc', 'expected N, A-B'],
    ['time:00:00:10', 'expected N, A-B'],
    ['time:00:00:20-00:00:10', 'the time window must end after it starts'],
    ['time:00:61:00-00:62:00', 'expected N, A-B'],
    ['!time:soon-later', 'expected N, A-B'],
  ])('rejects "%s", naming the part', (part, why) => {
    let error: unknown;
    try {
      parseSkipExpression(`1,${part},3`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SkipExpressionError);
    expect(error).toMatchObject({ code: 'ERR_SKIP_EXPRESSION', part });
    expect((error as Error).message).toMatch(new RegExp(`^invalid skip_ts_info part "${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": `));
    expect((error as Error).message).toContain(why);
  });
});

describe('downloader: skip rules', () => {
  let fixture: FixtureInfo;
  let server: HlsServer;
  const dirs: TempDir[] = [];

  beforeAll(async () => {
    fixture = await ensureFixture('ts');
    server = await startHlsServer({ root: fixture.dir });
    server.override((_req, res, urlPath) => (urlPath === '/seg004.ts' ? (res.writeHead(404).end(), true) : false));
  });
  beforeEach(() => {
    server.requests.length = 0;
  });
  afterAll(async () => {
    await server.close();
    await Promise.all(dirs.map((d) => d.cleanup()));
  });

  async function download(skip: string): Promise<{ result: DownloadResult; requested: number[]; last: ProgressSnapshot }> {
    const work = await tempDir('m3u8dm-dl-');
    dirs.push(work);
    const workDir = work.path;
    const progress: ProgressSnapshot[] = [];
    const result = await downloadStream({
      url: server.url(fixture.playlist), headers: {}, options: downloadOptions({ download_threads: 4, skip_ts_info: skip }), workDir,
      signal: new AbortController().signal, onProgress: (s) => progress.push(s),
    });
    const requested = server.requests.map((r) => /^\/seg(\d+)\.ts$/.exec(r.path)?.[1]).filter((n) => n !== undefined).map(Number);
    return { result, requested: requested.sort((a, b) => a - b), last: progress.at(-1)! };
  }

  // seg004.ts answers 404 throughout, so every run below covers it with a rule.
  it('skips N and A-B (1-based, inclusive) without requesting them', async () => {
    const { result, requested, last } = await download('1,3-5');
    expect(result.skipped).toEqual([
      { index: 0, uri: server.url('seg000.ts'), reason: 'rule 1' },
      { index: 2, uri: server.url('seg002.ts'), reason: 'rule 3-5' },
      { index: 3, uri: server.url('seg003.ts'), reason: 'rule 3-5' },
      { index: 4, uri: server.url('seg004.ts'), reason: 'rule 3-5' },
    ]);
    expect(requested).toEqual([1, 5, 6, 7, 8, 9, 10, 11]);
    expect(result.segments.map((s) => s.index)).toEqual([1, 5, 6, 7, 8, 9, 10, 11]);
    expect(result.duration).toBeCloseTo(8, 5);
    expect(last).toMatchObject({ segments_total: 12, segments_done: 8, segments_skipped: 4 });
  });

  it('skips a segment answering a code named by http.code=', async () => {
    const { result, requested, last } = await download('http.code=404');
    expect(result.skipped).toEqual([{ index: 4, uri: server.url('seg004.ts'), reason: 'http.code=404' }]);
    expect(requested).toEqual([...Array(12).keys()]);
    expect(server.hits('/seg004.ts')).toBe(1);
    expect(result.segments).toHaveLength(11);
    expect(last).toMatchObject({ segments_done: 11, segments_skipped: 1 });
  });

  it('skips segments lying fully inside a time: window', async () => {
    // Segments are 1 s: [2,3) [3,4) [4,5) lie inside 2–5; [5,6) only touches it.
    const { result, requested } = await download('time:00:00:02-00:00:05');
    expect(result.skipped.map((s) => [s.index, s.reason])).toEqual([
      [2, 'time:00:00:02-00:00:05'],
      [3, 'time:00:00:02-00:00:05'],
      [4, 'time:00:00:02-00:00:05'],
    ]);
    expect(requested).toEqual([0, 1, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('keeps only segments overlapping a !time: window', async () => {
    const { result, requested } = await download('!time:00:00:05.5-00:00:08');
    expect(result.segments.map((s) => s.index)).toEqual([5, 6, 7]);
    expect(requested).toEqual([5, 6, 7]);
    expect(result.skipped).toHaveLength(9);
    expect(result.skipped[0]).toMatchObject({ index: 0, reason: 'outside !time:00:00:05.5-00:00:08' });
  });

  it('writes the skipped list for log_skipped_ts', async () => {
    const { result } = await download('1,http.code=404');
    expect(formatSkippedLog(result.skipped)).toBe(
      `# 2 skipped segments (number, reason, uri)\n1\trule 1\t${server.url('seg000.ts')}\n5\thttp.code=404\t${server.url('seg004.ts')}\n`,
    );
  });

  it('rejects an invalid expression before any request', async () => {
    await expect(download('1,oops')).rejects.toThrow('invalid skip_ts_info part "oops": expected N, A-B');
    expect(server.requests).toHaveLength(0);
  });
});
