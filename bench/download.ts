// Download engine benchmark: wall time of downloadStream at 1, 8 and 16 threads
// against the ideal `ceil(N/threads) × latency + bytes / loopback bandwidth`
// and against `ffmpeg -i URL -c copy` on the same server in the same run, plus
// the peak RSS of a child process downloading a 2,000-segment playlist, and the
// peak RSS of the service recording a fast simulated live stream of 10,000 segments.
//
// The HLS server runs in its own process so it does not share an event loop
// (or, on two cores, a core) with the downloader being measured. This file is
// also that server and that child: `node download.js serve|rss …`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { downloadStream } from '../src/downloader/index.js';
import { downloadOptionsFor } from '../src/manager/download-options.js';
import { DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS } from '../src/manager/settings.js';
import type { TaskOptions } from '../src/types.js';
import { serviceNodeArgs } from './service-command.js';

const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);

const SEGMENTS = 200;
const LATENCY_MS = 40;
const RSS_SEGMENTS = 2000;
const THREADS = [1, 8, 16] as const;
const TARGET_RATIO = 1.2;
const TARGET_RSS_MB = 150;
/** The live figure: segments recorded, published this many a second (reloads every 1 s take a window's worth). */
const LIVE_SEGMENTS = 10_000;
const LIVE_RATE = 400;
const LIVE_WINDOW = 1_200;

const OPTIONS: TaskOptions = { ...DEFAULT_SETTINGS, ...DEFAULT_TASK_EXTRAS };

const ffmpegBin = () => process.env.M3U8DM_FFMPEG ?? 'ffmpeg';

/** One real ~300 KB MPEG-TS segment: 1 s of video muxed at a constant 2.4 Mbit/s. */
async function makeSegment(dir: string): Promise<string> {
  const file = path.join(dir, 'one.ts');
  await run(ffmpegBin(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '1',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '1500k', '-f', 'mpegts', '-muxrate', '2400k', file,
  ]);
  return file;
}

/** One small real segment for the live stream: half a second of 160×120 video and audio. */
async function makeLiveSegment(dir: string): Promise<string> {
  const file = path.join(dir, 'live.ts');
  await run(ffmpegBin(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=24', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '0.5',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '12', '-c:a', 'aac', '-b:a', '32k', '-f', 'mpegts', file,
  ]);
  return file;
}

/**
 * A live playlist, `/live/index.m3u8?n=N&rate=R&window=W`: its clock starts at its first request,
 * R segments a second are published (EXTINF 0.5), W listed at once, ENDLIST after N.
 */
function livePlaylist(url: URL, clocks: Map<string, number>): string {
  const n = Number(url.searchParams.get('n') ?? '100');
  const rate = Number(url.searchParams.get('rate') ?? '10');
  const window = Number(url.searchParams.get('window') ?? '6');
  const t0 = clocks.get(url.search) ?? Date.now();
  clocks.set(url.search, t0);
  const published = Math.min(n, window + Math.floor(((Date.now() - t0) * rate) / 1000));
  const first = Math.max(0, published - window);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', `#EXT-X-MEDIA-SEQUENCE:${first}`];
  for (let i = first; i < published; i++) lines.push('#EXTINF:0.500000,', `seg${String(i).padStart(5, '0')}.ts`);
  if (published >= n) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/**
 * The server process: `/index-N.m3u8` lists N segments, each `/segNNNNN.ts` is the
 * one segment from memory after `latency` ms, `/big?n=N` streams it N times with no latency;
 * `/live/…` is a live stream of the small segment, without latency.
 */
async function serve(segmentFile: string, latencyMs: number, liveSegmentFile: string): Promise<void> {
  const body = await readFile(segmentFile);
  const liveBody = await readFile(liveSegmentFile);
  const clocks = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/live/index.m3u8') {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(livePlaylist(url, clocks));
      return;
    }
    if (/^\/live\/seg\d{5}\.ts$/.test(url.pathname)) {
      res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': liveBody.length }).end(liveBody);
      return;
    }
    if (url.pathname === '/big') {
      const count = Number(url.searchParams.get('n') ?? '1');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length * count });
      let sent = 0;
      const pump = () => {
        while (sent < count) {
          sent++;
          if (!res.write(body)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    setTimeout(() => {
      const playlist = /^\/index-(\d+)\.m3u8$/.exec(url.pathname);
      if (playlist) {
        const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD'];
        for (let i = 0; i < Number(playlist[1]); i++) lines.push('#EXTINF:1.000000,', `seg${String(i).padStart(5, '0')}.ts`);
        lines.push('#EXT-X-ENDLIST', '');
        res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(lines.join('\n'));
      } else if (/^\/seg\d{5}\.ts$/.test(url.pathname)) {
        res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': body.length }).end(body);
      } else {
        res.writeHead(404).end();
      }
    }, latencyMs);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, segmentBytes: body.length })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

/** The RSS child: one download, then its own peak RSS on stdout. */
async function rssChild(url: string, workDir: string, threads: number): Promise<void> {
  const started = performance.now();
  const result = await downloadStream({
    url, headers: {}, options: downloadOptionsFor({ ...OPTIONS, download_threads: threads }), workDir,
    signal: new AbortController().signal, onProgress: () => {},
  });
  const status = await readFile('/proc/self/status', 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, segments: result.segments.length, vmhwmKb: hwm })}\n`);
}

/** Marks the server and RSS children, which must never start a benchmark themselves. */
const CHILD_ENV = 'M3U8DM_BENCH_CHILD';

function spawnSelf(args: string[]): ChildProcess {
  // Never pass process.execArgv on: under `node -e` it holds the caller's script, and every
  // child would run the benchmark again. The only flag wanted is tsx's loader, for the .ts source.
  const loader = SELF.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return spawn(process.execPath, [...loader, SELF, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
}

async function firstLine(child: ChildProcess): Promise<string> {
  let text = '';
  for await (const chunk of child.stdout!) {
    text += String(chunk);
    const newline = text.indexOf('\n');
    if (newline >= 0) return text.slice(0, newline);
  }
  throw new Error('child ended without output');
}

/** Bytes per second over loopback, from one big response with no latency. */
async function loopbackBandwidth(origin: string, segmentBytes: number): Promise<number> {
  const count = SEGMENTS;
  const started = performance.now();
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    http.get(`${origin}/big?n=${count}`, (res) => {
      res.on('data', (chunk: Buffer) => { received += chunk.length; });
      res.on('end', resolve);
      res.on('error', reject);
    }).on('error', reject);
  });
  if (received !== count * segmentBytes) throw new Error(`loopback probe got ${received} bytes`);
  return received / ((performance.now() - started) / 1000);
}

async function timeDownload(url: string, threads: number, scratch: string): Promise<number> {
  const workDir = await mkdtemp(path.join(scratch, `t${threads}-`));
  const started = performance.now();
  const result = await downloadStream({
    url, headers: {}, options: downloadOptionsFor({ ...OPTIONS, download_threads: threads }), workDir,
    signal: new AbortController().signal, onProgress: () => {},
  });
  const ms = performance.now() - started;
  if (result.segments.length !== SEGMENTS) throw new Error(`expected ${SEGMENTS} segments, got ${result.segments.length}`);
  await rm(workDir, { recursive: true, force: true });
  return ms;
}

async function timeFfmpeg(url: string, scratch: string): Promise<number> {
  const started = performance.now();
  await run(ffmpegBin(), ['-hide_banner', '-loglevel', 'fatal', '-y', '-i', url, '-c', 'copy', '-f', 'mpegts', path.join(scratch, 'ffmpeg.ts')], {
    maxBuffer: 16 << 20,
  });
  const ms = performance.now() - started;
  await rm(path.join(scratch, 'ffmpeg.ts'), { force: true });
  return ms;
}

/** Runs the RSS child and samples its VmHWM from /proc while it works. */
async function peakRss(url: string, scratch: string, threads: number): Promise<{ peakMb: number; ms: number; segments: number }> {
  const workDir = await mkdtemp(path.join(scratch, 'rss-'));
  const child = spawnSelf(['rss', url, workDir, String(threads)]);
  let sampledKb = 0;
  const sampler = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, 'utf8')
      .then((status) => { sampledKb = Math.max(sampledKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)); })
      .catch(() => {});
  }, 50);
  try {
    const report = JSON.parse(await firstLine(child)) as { ms: number; segments: number; vmhwmKb: number };
    await once(child, 'exit');
    return { peakMb: Math.max(sampledKb, report.vmhwmKb) / 1024, ms: report.ms, segments: report.segments };
  } finally {
    clearInterval(sampler);
    child.kill();
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The service itself (`m3u8dm serve`, a child process): one task for the playlist, through
 * download and merge; its VmHWM sampled until the task ends. This is the figure the
 * target is about: the downloader plus everything a running service holds.
 */
async function peakServiceRss(
  url: string,
  scratch: string,
  threads: number,
  extra: Record<string, unknown> = {},
): Promise<{ peakMb: number; idleMb: number; ms: number; status: number; segments: number }> {
  const dir = await mkdtemp(path.join(scratch, 'service-'));
  const child = spawn(process.execPath, [...serviceNodeArgs(), 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, [CHILD_ENV]: '1', M3U8DM_DATA_DIR: path.join(dir, 'data'), M3U8DM_DOWNLOAD_DIR: path.join(dir, 'out'), M3U8DM_LOG_LEVEL: 'warn' },
  });
  let peakKb = 0;
  const sample = async () => {
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
  };
  const sampler = setInterval(() => void sample(), 50);
  try {
    const line = await firstLine(child);
    const base = /listening on (\S+)/.exec(line)?.[1];
    if (!base) throw new Error(`service did not start: ${line}`);
    await sleep(500);
    await sample();
    const idleMb = peakKb / 1024;
    const started = performance.now();
    const created = await fetch(`${base}/api/v1/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url, filename: 'rss', options: { download_threads: threads, ...extra } }),
    });
    const id = ((await created.json()) as { data: { task_ids: number[] } }).data.task_ids[0];
    let status = 0;
    let segments = 0;
    for (let i = 0; i < 2400; i++) { // at most 4 minutes
      await sleep(100);
      const task = ((await (await fetch(`${base}/api/v1/tasks/${id}`)).json()) as { data: { status: number; segments_done: number } }).data;
      status = task.status;
      segments = task.segments_done;
      if (status === 2 || status === 3) break;
    }
    const ms = performance.now() - started;
    await sample();
    return { peakMb: peakKb / 1024, idleMb, ms, status, segments };
  } finally {
    clearInterval(sampler);
    child.kill('SIGTERM');
    await once(child, 'exit').catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * The segment server in its own process, for other benchmarks (bench/limits.ts): `/index-N.m3u8`
 * lists N copies of one ~300 KB MPEG-TS segment, served after `latencyMs`.
 */
export async function startSegmentServer(latencyMs: number): Promise<{ origin: string; segmentBytes: number; close(): Promise<void> }> {
  if (process.env[CHILD_ENV]) throw new Error('startSegmentServer must not run inside one of its own child processes');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-bench-srv-'));
  const server = spawnSelf(['serve', await makeSegment(scratch), String(latencyMs)]);
  const { port, segmentBytes } = JSON.parse(await firstLine(server)) as { port: number; segmentBytes: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    segmentBytes,
    async close() {
      server.kill('SIGTERM');
      await once(server, 'exit').catch(() => {});
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

export async function benchDownload(): Promise<Record<string, unknown>> {
  if (process.env[CHILD_ENV]) throw new Error('benchDownload must not run inside one of its own child processes');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-bench-'));
  const server = spawnSelf(['serve', await makeSegment(scratch), String(LATENCY_MS), await makeLiveSegment(scratch)]);
  try {
    const { port, segmentBytes } = JSON.parse(await firstLine(server)) as { port: number; segmentBytes: number };
    const origin = `http://127.0.0.1:${port}`;
    const url = `${origin}/index-${SEGMENTS}.m3u8`;
    const totalBytes = SEGMENTS * segmentBytes;

    await loopbackBandwidth(origin, segmentBytes); // warm-up
    const bandwidth = await loopbackBandwidth(origin, segmentBytes);
    await timeDownload(`${origin}/index-${SEGMENTS}.m3u8`, 16, scratch); // warm-up: JIT, disk cache

    const rows: { threads: number; ms: number; idealMs: number; ratio: number }[] = [];
    for (const threads of THREADS) {
      const ms = await timeDownload(url, threads, scratch);
      const idealMs = Math.ceil(SEGMENTS / threads) * LATENCY_MS + (totalBytes / bandwidth) * 1000;
      rows.push({ threads, ms, idealMs, ratio: ms / idealMs });
    }
    const ffmpegMs = await timeFfmpeg(url, scratch);
    const rss = await peakRss(`${origin}/index-${RSS_SEGMENTS}.m3u8`, scratch, 16);
    // Two lengths, ten times apart: the peak must not grow with the playlist.
    const serviceShort = await peakServiceRss(`${origin}/index-${SEGMENTS}.m3u8`, scratch, 16);
    const service = await peakServiceRss(`${origin}/index-${RSS_SEGMENTS}.m3u8`, scratch, 16);
    for (const s of [serviceShort, service]) if (s.status !== 2) throw new Error(`a service task for the RSS figure ended with status ${s.status}`);
    const live = await peakServiceRss(`${origin}/live/index.m3u8?n=${LIVE_SEGMENTS}&rate=${LIVE_RATE}&window=${LIVE_WINDOW}`, scratch, 16, { live_idle_timeout: 30 });
    if (live.status !== 2 || live.segments !== LIVE_SEGMENTS) {
      throw new Error(`the live recording for the RSS figure ended with status ${live.status} and ${live.segments} of ${LIVE_SEGMENTS} segments`);
    }

    const table = [
      `download engine: ${SEGMENTS} segments × ${(segmentBytes / 1024).toFixed(0)} KiB, ${LATENCY_MS} ms latency, loopback ${(bandwidth / 1e6).toFixed(0)} MB/s`,
      `${'case'.padEnd(22)}${'time'.padStart(10)}${'ideal'.padStart(10)}${'ratio'.padStart(8)}`,
      ...rows.map((r) => `${`downloadStream ×${r.threads}`.padEnd(22)}${seconds(r.ms).padStart(10)}${seconds(r.idealMs).padStart(10)}${r.ratio.toFixed(2).padStart(8)}`),
      `${'ffmpeg -c copy'.padEnd(22)}${seconds(ffmpegMs).padStart(10)}${''.padStart(10)}${''.padStart(8)}`,
      `peak RSS of the downloader alone, ${RSS_SEGMENTS} segments (${((RSS_SEGMENTS * segmentBytes) / 1e6).toFixed(0)} MB) in ${seconds(rss.ms)}: ${rss.peakMb.toFixed(0)} MB`,
      `peak RSS of the service, same playlist, download + merge in ${seconds(service.ms)}: ${service.peakMb.toFixed(0)} MB (idle ${service.idleMb.toFixed(0)} MB; target < ${TARGET_RSS_MB} MB)`,
      `peak RSS of the service, ${SEGMENTS} segments: ${serviceShort.peakMb.toFixed(0)} MB (so ${(service.peakMb / serviceShort.peakMb).toFixed(2)}× for 10× the playlist)`,
      `peak RSS of the service recording a live stream of ${LIVE_SEGMENTS} segments (${LIVE_RATE}/s, window ${LIVE_WINDOW}), record + merge in ${seconds(live.ms)}: ` +
        `${live.peakMb.toFixed(0)} MB (VOD ${RSS_SEGMENTS} segments: ${service.peakMb.toFixed(0)} MB; target < ${TARGET_RSS_MB} MB)`,
    ];
    const at16 = rows.find((r) => r.threads === 16)!;
    table.push(
      `16 threads vs ideal: ${at16.ratio.toFixed(2)}× (target ≤ ${TARGET_RATIO}×); 16 threads vs ffmpeg: ${(ffmpegMs / at16.ms).toFixed(1)}× faster`,
    );
    console.log(table.join('\n'));

    return {
      segments: SEGMENTS,
      segment_bytes: segmentBytes,
      latency_ms: LATENCY_MS,
      loopback_bytes_per_s: Math.round(bandwidth),
      runs: rows.map((r) => ({ threads: r.threads, ms: Math.round(r.ms), ideal_ms: Math.round(r.idealMs), ratio: Number(r.ratio.toFixed(3)) })),
      ffmpeg_ms: Math.round(ffmpegMs),
      speedup_vs_ffmpeg_16: Number((ffmpegMs / at16.ms).toFixed(2)),
      ratio_16_vs_ideal: Number(at16.ratio.toFixed(3)),
      ratio_16_ok: at16.ratio <= TARGET_RATIO,
      rss_segments: rss.segments,
      downloader_peak_rss_mb: Number(rss.peakMb.toFixed(1)),
      service_idle_rss_mb: Number(service.idleMb.toFixed(1)),
      service_peak_rss_mb: Number(service.peakMb.toFixed(1)),
      service_peak_rss_mb_short: Number(serviceShort.peakMb.toFixed(1)),
      service_peak_rss_ok: service.peakMb < TARGET_RSS_MB,
      live_segments: live.segments,
      live_service_peak_rss_mb: Number(live.peakMb.toFixed(1)),
      live_ms: Math.round(live.ms),
      live_service_peak_rss_ok: live.peakMb < TARGET_RSS_MB,
    };
  } finally {
    server.kill('SIGTERM');
    await sleep(50);
    await rm(scratch, { recursive: true, force: true });
  }
}

const mode = process.argv[2];
if (process.argv[1] && path.resolve(process.argv[1]) === SELF && mode && (mode === 'run' || process.env[CHILD_ENV])) {
  const args = process.argv.slice(3);
  const job =
    mode === 'serve' ? serve(args[0] ?? '', Number(args[1] ?? LATENCY_MS), args[2] ?? '')
    : mode === 'rss' ? rssChild(args[0] ?? '', args[1] ?? '', Number(args[2] ?? 16))
    : mode === 'run' ? benchDownload().then(() => undefined)
    : Promise.reject(new Error(`unknown mode ${mode}; expected serve, rss or run`));
  job.catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
