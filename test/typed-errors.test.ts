// The typed-error guarantee: every failure a user sees in err_msg is one of
// our errors with a message they can act on, never raw JavaScript text
// (`TypeError`, `Cannot read properties of undefined`). Broken playlists of
// every shape go through the real service; and an unexpected exception in a
// run becomes an InternalError while the original reaches the service log.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NedbTaskStore } from '../src/store/nedb-task-store.js';
import { TaskManager } from '../src/manager/task-manager.js';
import { TaskStatus, type Engine } from '../src/types.js';
import { ensureFixture } from './helpers/hls-fixtures.js';
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
    const dir = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-internal-'));
    const store = new NedbTaskStore({ dataDir: path.join(dir, 'data') });
    await store.open();
    // An engine with a bug in it: the very exception the issue saw.
    const engine: Engine = {
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
      await rm(dir, { recursive: true, force: true });
    }
  });
});
