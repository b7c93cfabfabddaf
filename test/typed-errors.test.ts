// The typed-error guarantee: every failure a user sees in err_msg is one of
// our errors with a message they can act on, never raw JavaScript text
// (`TypeError`, `Cannot read properties of undefined`). Broken playlists of
// every shape go through the real service; an unexpected exception in a run
// becomes an InternalError while the original reaches the service log; and
// every error class of the downloader, merge and manager layers is in got's
// shape (name, stable code, standard cause), with one AbortError for all.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as downloaderErrors from '../src/downloader/errors.js';
import * as managerErrors from '../src/manager/errors.js';
import { PathError, SettingsError } from '../src/manager/errors.js';
import * as mergeErrors from '../src/merge/errors.js';
import { runFfmpeg } from '../src/merge/index.js';
import { NedbTaskStore } from '../src/store/nedb-task-store.js';
import { TaskManager } from '../src/manager/task-manager.js';
import { TaskStatus, type Engine } from '../src/types.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { tempDir } from './helpers/temp-dir.js';
import { waitFor } from './helpers/wait-for.js';
import { startStreamService, type StreamService } from './helpers/stream-task.js';

/** Text that must never reach a user. */
const RAW_JS = /TypeError|RangeError|ReferenceError|Cannot read prop|is not a function|is not iterable|\bundefined\b|\bnull\b|\bNaN\b|\[object /;

let service: StreamService;
beforeAll(async () => {
  const fixture = await ensureFixture('quirks');
  service = await startStreamService(fixture.dir);
  service.hls.override((_req, res, urlPath) => {
    const body = BROKEN[urlPath.slice(1)];
    if (body === undefined) return false;
    const [headers, content] = typeof body === 'string' ? [{ 'content-type': 'application/vnd.apple.mpegurl' }, body] : body;
    res.writeHead(200, headers).end(content);
    return true;
  });
}, 60_000);
afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
  await service?.close();
});

const media = (...lines: string[]) => ['#EXTM3U', '#EXT-X-TARGETDURATION:1', ...lines, '#EXT-X-ENDLIST', ''].join('\n');
const master = (...lines: string[]) => ['#EXTM3U', ...lines, ''].join('\n');

/** Playlists (and bodies) as broken as the field serves them, by path. */
const BROKEN: Record<string, string | [Record<string, string>, string | Buffer]> = {
  'b/no-uri-master.m3u8': master('#EXT-X-STREAM-INF:BANDWIDTH=1000'),
  'b/bad-uri-master.m3u8': master('#EXT-X-STREAM-INF:BANDWIDTH=1000', 'http://[::1'),
  'b/ftp-master.m3u8': master('#EXT-X-STREAM-INF:BANDWIDTH=1000', 'ftp://127.0.0.1/x.m3u8'),
  'b/audio-404-master.m3u8': master('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",DEFAULT=YES,URI="nothing.m3u8"', '#EXT-X-STREAM-INF:AUDIO="a",RESOLUTION=zz', '../media/index.m3u8'),
  'b/audio-no-group.m3u8': master('#EXT-X-MEDIA:TYPE=AUDIO,NAME="x"', '#EXT-X-STREAM-INF:AUDIO="nope"', '../media/index.m3u8'),
  'b/master-loop.m3u8': master('#EXT-X-STREAM-INF:', 'master-loop.m3u8'),
  'b/no-segments.m3u8': media('#EXTINF:1,'),
  'b/key-no-uri.m3u8': media('#EXT-X-KEY:METHOD=AES-128', '#EXTINF:1,', '../media/seg000.ts'),
  'b/key-no-method.m3u8': media('#EXT-X-KEY:URI="k.bin"', '#EXTINF:1,', '../media/seg000.ts'),
  'b/key-sample-aes.m3u8': media('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k.bin"', '#EXTINF:1,', '../media/seg000.ts'),
  'b/key-404.m3u8': media('#EXT-X-KEY:METHOD=AES-128,URI="k.bin"', '#EXTINF:1,', '../media/seg000.ts'),
  'b/map-empty.m3u8': media('#EXT-X-MAP:URI=""', '#EXTINF:1,', '../media/seg000.ts'),
  'b/map-404.m3u8': media('#EXT-X-MAP:URI="init.mp4"', '#EXTINF:1,', '../media/seg000.ts'),
  'b/byterange-bad.m3u8': media('#EXTINF:1,', '#EXT-X-BYTERANGE:abc', '../media/seg000.ts'),
  'b/byterange-zero.m3u8': media('#EXTINF:1,', '#EXT-X-BYTERANGE:0@0', '../media/seg000.ts'),
  'b/extinf-garbage.m3u8': ['#EXTM3U', '#EXT-X-TARGETDURATION:x', '#EXT-X-MEDIA-SEQUENCE:y', '#EXTINF:abc,', 'garbage.ts', '#EXT-X-ENDLIST', ''].join('\n'),
  'b/define-unknown.m3u8': media('#EXT-X-DEFINE:NAME="a",VALUE="b"', '#EXTINF:1,', '{$zzz}.ts'),
  'b/define-import.m3u8': media('#EXT-X-DEFINE:IMPORT="a"', '#EXTINF:1,', '{$a}.ts'),
  'b/define-twice.m3u8': media('#EXT-X-DEFINE:NAME="a",VALUE="b"', '#EXT-X-DEFINE:NAME="a",VALUE="c"', '#EXTINF:1,', '{$a}.ts'),
  'b/define-bare.m3u8': media('#EXT-X-DEFINE:', '#EXTINF:1,', 'x.ts'),
  'b/json.m3u8': [{ 'content-type': 'application/json' }, '{"error":null}'],
  'b/empty.m3u8': [{}, ''],
  'b/binary.m3u8': [{ 'content-type': 'application/octet-stream' }, Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0, 0, 7])],
  'b/segment-not-media.m3u8': media('#EXTINF:1,', 'not-media.ts'),
  'b/not-media.ts': [{ 'content-type': 'video/mp2t' }, `<html><body>Access denied</body></html>${' '.repeat(1000)}`],
  'b/segment-bad-gzip.m3u8': media('#EXTINF:1,', 'bad-gzip.ts'),
  'b/bad-gzip.ts': [{ 'content-encoding': 'gzip' }, Buffer.from('definitely not gzip')],
  'b/segment-zstd.m3u8': media('#EXTINF:1,', 'zstd.ts'),
  'b/zstd.ts': [{ 'content-encoding': 'zstd' }, Buffer.from('x')],
  'b/all-gaps.m3u8': media('#EXT-X-GAP', '#EXTINF:1,', 'gap.ts'),
  'b/mixed-map.m3u8': media('#EXTINF:1,', '../media/seg000.ts', '#EXT-X-MAP:URI="../map/a/init.mp4"', '#EXTINF:1,', '../map/a/seg000.m4s'),
  'b/drm.m3u8': media('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://x",KEYFORMAT="com.apple.streamingkeydelivery"', '#EXTINF:1,', '../media/seg000.ts'),
};

describe('typed errors', () => {
  it('no broken playlist lets raw JavaScript text reach err_msg; each failure says what is wrong', async () => {
    const names = Object.keys(BROKEN).filter((name) => name.endsWith('.m3u8'));
    const outcomes = await Promise.all(names.map(async (name) => ({ name, task: await service.runTask(service.hls.url(name), { retries: 1 }) })));
    const failed = outcomes.filter(({ task }) => task.status === '失败');
    if (process.env.SHOW_ERRORS) for (const { name, task } of outcomes) console.log(name, task.status, task.err_msg);
    for (const { name, task } of outcomes) {
      expect(task.err_msg, name).not.toMatch(RAW_JS);
      if (task.status === '失败') {
        expect(task.err_msg.length, name).toBeGreaterThan(10);
        expect(task.err_msg, name).not.toMatch(/internal error/);
      }
    }
    // Shapes players shrug off (a tag the parser ignores, an unknown audio group) may complete; the rest cannot.
    const tolerated = ['b/audio-no-group.m3u8', 'b/key-no-uri.m3u8', 'b/map-empty.m3u8', 'b/byterange-bad.m3u8'];
    expect(outcomes.filter(({ task }) => task.status !== '失败').map(({ name }) => name).filter((n) => !tolerated.includes(n))).toEqual([]);
    expect(failed.length).toBeGreaterThan(0);
    const message = (name: string) => outcomes.find((o) => o.name === name)?.task.err_msg ?? '';
    expect(message('b/no-uri-master.m3u8')).toMatch(/lists no variant with a URI/);
    expect(message('b/key-sample-aes.m3u8')).toMatch(/SAMPLE-AES, which m3u8dm cannot decrypt/);
    expect(message('b/define-unknown.m3u8')).toMatch(/\{\$zzz\} is used but not defined/);
    expect(message('b/segment-not-media.m3u8')).toMatch(/^segment 1 is neither MPEG-TS nor packed audio .*: it starts with "<html><body>Access denied/);
    expect(message('b/segment-zstd.m3u8')).toMatch(/Content-Encoding: zstd, which m3u8dm cannot decode/);
  }, 120_000);

  it('an unexpected exception in a run becomes an InternalError in err_msg; the original goes to the log', async () => {
    const { path: dir, cleanup } = await tempDir('m3u8dm-internal-');
    const store = new NedbTaskStore({ dataDir: path.join(dir, 'data') });
    await store.open();
    // An engine with a bug in it: the very exception the issue saw.
    const engine: Engine = {
      // eslint-disable-next-line @typescript-eslint/require-await -- async so the TypeError is a rejection, as from a real engine
      run: async () => {
        const attributes = undefined as unknown as { BANDWIDTH: number };
        return { outputPath: '', size: attributes.BANDWIDTH, segments_total: 0, segments_skipped: 0 };
      },
    };
    const manager = new TaskManager({ store, engine, dataDir: path.join(dir, 'data'), downloadDir: path.join(dir, 'downloads'), saveRoots: [], maxActive: 1, progressWriteMs: 10 });
    const logged: unknown[] = [];
    manager.on('error', (err) => logged.push(err));
    try {
      await manager.start();
      const created = await manager.create({ url: 'http://127.0.0.1:9/x.m3u8', filename: 'x', headers: {}, advanced: false, options: {}, source: 'api' });
      const task = await waitFor(async () => {
        const t = await manager.get(created.id);
        return t.status === TaskStatus.failed ? t : undefined;
      }, { timeoutMs: 10_000, intervalMs: 50, what: 'the task to fail' });
      expect(task.err_msg).not.toMatch(RAW_JS);
      expect(task.err_msg).toMatch(/^internal error in m3u8dm \(ERR_INTERNAL\).*retry the task.*service log/);
      expect(task.status_bar).not.toMatch(RAW_JS);
      const cause = (logged[0] as { cause?: unknown } | undefined)?.cause;
      expect(cause).toBeInstanceOf(TypeError);
      expect(String((cause as Error).message)).toMatch(/Cannot read properties of undefined \(reading 'BANDWIDTH'\)/);
    } finally {
      await manager.shutdown().catch(() => undefined);
      await cleanup();
    }
  });

  it('every error class of the downloader, merge and manager layers has its name, an ERR_ code and the standard cause', () => {
    const cause = new Error('the original');
    const d = downloaderErrors;
    const m = mergeErrors;
    const g = managerErrors;
    // One way to make each, the cause passed as ErrorOptions.
    const made: Record<string, Error> = {
      DownloadError: new d.DownloadError('x', { cause }),
      PlaylistError: new d.PlaylistError('x', 'http://127.0.0.1/a.m3u8', { cause, status: 404 }),
      EmptyPlaylistError: new d.EmptyPlaylistError('x', 'http://127.0.0.1/a.m3u8', { cause }),
      SegmentHttpError: new d.SegmentHttpError('x', 'http://127.0.0.1/s.ts', 403, 0, { cause }),
      SegmentError: new d.SegmentError('x', 'http://127.0.0.1/s.ts', 0, { cause }),
      KeyError: new d.KeyError('x', 'http://127.0.0.1/k.bin', { cause }),
      ProxyError: new d.ProxyError('x', { cause }),
      UnsupportedStreamError: new d.UnsupportedStreamError('x', { cause }),
      SkipExpressionError: new d.SkipExpressionError('x', '0', { cause }),
      RequestFailure: new d.RequestFailure('x', 'http://127.0.0.1/s.ts', 1, { cause, status: 500 }),
      AbortError: new d.AbortError('x', { cause }),
      MergeError: new m.MergeError('x', { cause, stderrTail: 'tail' }),
      FfmpegNotFoundError: new m.FfmpegNotFoundError('x', { cause }),
      TaskNotFoundError: new g.TaskNotFoundError(1, { cause }),
      TransitionError: new g.TransitionError(1, TaskStatus.completed, 'pause', { cause }),
      FileUnavailableError: new g.FileUnavailableError(1, 'x', { cause }),
      RunBugError: new g.RunBugError(1, { cause }),
      InternalError: new g.InternalError({ cause }),
      WorkFolderError: new g.WorkFolderError('x', { cause }),
      PathError: new PathError('x', 'save_location', { cause }),
      SettingsError: new SettingsError('x', 'proxy_host', { cause }),
    };
    // Every class the errors modules export is in the table: a new one cannot skip these checks.
    const exported = [downloaderErrors, mergeErrors, managerErrors].flatMap((module) =>
      Object.entries(module).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error).map(([name]) => name));
    expect(exported.filter((name) => !(name in made))).toEqual([]);
    const codes = new Set<string>();
    for (const [name, error] of Object.entries(made)) {
      expect(error.name, name).toBe(name);
      expect(error.constructor.name, name).toBe(name);
      expect(error.cause, name).toBe(cause);
      const { code } = error as Error & { code: unknown };
      // AbortError keeps Node's own code for aborts, so code that knows Node's AbortError knows ours.
      expect(code, name).toMatch(name === 'AbortError' ? /^ABORT_ERR$/ : /^ERR_[A-Z0-9_]+$/);
      codes.add(code as string);
    }
    // Each class its own code: a subclass never answers to its base's.
    expect(codes.size).toBe(Object.keys(made).length);
    // Without a cause there is none: no own `cause: undefined` for a log to print.
    expect('cause' in new d.SegmentError('x', 'http://127.0.0.1/s.ts', 0)).toBe(false);
    expect('cause' in new m.MergeError('x')).toBe(false);
  });

  it('an aborted merge rejects with the same AbortError class as an aborted download', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await runFfmpeg({ ffmpegPath: 'ffmpeg', args: ['-version'], signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(downloaderErrors.AbortError);
    expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    // The signal's own reason (a DOMException) is kept as the cause.
    expect((error as Error).cause).toBe(controller.signal.reason);
    // A reason that already is our AbortError goes on as it is.
    const own = new AbortController();
    const reason = new downloaderErrors.AbortError('stopped by the user');
    own.abort(reason);
    await expect(runFfmpeg({ ffmpegPath: 'ffmpeg', args: ['-version'], signal: own.signal })).rejects.toBe(reason);
  });
});
