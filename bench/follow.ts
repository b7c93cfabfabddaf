// End-to-end benchmark of the merge that follows the download: POST a task to
// the real service (its own process), time it to 已完成 (the SSE event), beside
// the sequential ideal measured in the same run:
//   ceil(N / threads) × latency + bytes / loopback bandwidth + cat-and-remux
// (`cat` of the very segment files the task downloaded, then one `ffmpeg -c copy`
// with the merge's MP4 options). Also the time from the last segment's arrival
// to 已完成, the same task with `follow_merge: false`, the service's peak RSS,
// and the share `-movflags +faststart` takes of a remux. Each as the first task of
// a fresh service process, and again in one service after a first task (warm).
//
// Cases: the default (200 × 2 s, ~72 MB, 40 ms latency, 16 threads), `big`
// (2,000 × 1 s) and the default with one discontinuity in the middle. The
// origin serves a real HLS stream ffmpeg made (cached in bench/.work) from its
// own process, so it shares no event loop with the service.
//
// This file is also that origin: `node follow.js serve DIR LATENCY`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serviceNodeArgs } from './service-command.js';

const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);
const CHILD_ENV = 'M3U8DM_BENCH_CHILD';
const LATENCY_MS = 40;
const THREADS = 16;
const TARGET_RATIO = 1.0;
const ffmpegBin = () => process.env.M3U8DM_FFMPEG ?? 'ffmpeg';
/** The merge stage's MP4 options for TS input (merge-segments.ts), so the ideal remuxes as much as the task. */
const MP4_OUTPUT = ['-map', '0:v?', '-map', '0:a?', '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-max_muxing_queue_size', '4096'];

interface SegmentSet {
  name: string;
  dir: string;
  /** The muxed stream's segments (`index.m3u8`, `discontinuity.m3u8`). */
  files: string[];
  bytes: number;
  /** The same media as a video-only and an audio-only rendition (`separate.m3u8`). */
  separate: { video: string[]; audio: string[]; bytes: number };
}

/**
 * `segments` × `seconds` of 640×360 H.264 + AAC at `kbps`: a 10 s encode looped by stream copy (ffmpeg offsets
 * each loop's timestamps, so the stream is continuous) and cut by the hls muxer. Cached by recipe.
 */
async function ensureSet(root: string, name: string, segments: number, seconds: number, kbps: number): Promise<SegmentSet> {
  const dir = path.join(root, `follow-${name}`);
  const recipe = `v2 ${segments}x${seconds}s ${kbps}k`;
  const stamp = path.join(dir, '.ready');
  if (!(existsSync(stamp) && (await readFile(stamp, 'utf8')) === recipe)) {
    const scratch = `${dir}.tmp-${process.pid}`;
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true });
    console.log(`follow bench: making ${name} (${recipe}) with ffmpeg (once)…`);
    await run(ffmpegBin(), [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '10',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
      '-b:v', `${kbps - 96}k`, '-maxrate', `${kbps - 96}k`, '-bufsize', `${kbps}k`, '-x264-params', 'nal-hrd=cbr',
      '-c:a', 'aac', '-b:a', '96k', '-f', 'mpegts', 'source.ts',
    ], { cwd: scratch, maxBuffer: 16 << 20 });
    await run(ffmpegBin(), [
      '-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-stream_loop', String(Math.ceil((segments * seconds) / 10) - 1), '-i', 'source.ts',
      '-c', 'copy', '-t', String(segments * seconds),
      '-f', 'hls', '-hls_time', String(seconds), '-hls_list_size', '0', '-hls_playlist_type', 'vod', '-hls_segment_filename', 's%05d.ts', 'index.m3u8',
    ], { cwd: scratch, maxBuffer: 16 << 20 });
    // The same media as two renditions, the audio one named by EXT-X-MEDIA in a master playlist.
    for (const [track, map, prefix] of [['video', '0:v', 'v'], ['audio', '0:a', 'a']] as const) {
      await run(ffmpegBin(), [
        '-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-stream_loop', String(Math.ceil((segments * seconds) / 10) - 1), '-i', 'source.ts',
        '-map', map, '-c', 'copy', '-t', String(segments * seconds),
        '-f', 'hls', '-hls_time', String(seconds), '-hls_list_size', '0', '-hls_playlist_type', 'vod', '-hls_segment_filename', `${prefix}%05d.ts`, `${track}.m3u8`,
      ], { cwd: scratch, maxBuffer: 16 << 20 });
    }
    await writeFile(path.join(scratch, 'separate.m3u8'), [
      '#EXTM3U',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="audio.m3u8"',
      `#EXT-X-STREAM-INF:BANDWIDTH=${kbps * 1000},CODECS="avc1.64001e,mp4a.40.2",AUDIO="aud"`,
      'video.m3u8',
      '',
    ].join('\n'));
    await rm(path.join(scratch, 'source.ts'));
    // The same stream with one discontinuity in the middle (timestamps keep running: the merge still splits there).
    const lines = (await readFile(path.join(scratch, 'index.m3u8'), 'utf8')).split('\n');
    const middle = lines.findIndex((line) => line === `s${String(Math.floor(segments / 2)).padStart(5, '0')}.ts`);
    if (middle > 0) lines.splice(middle - 1, 0, '#EXT-X-DISCONTINUITY');
    await writeFile(path.join(scratch, 'discontinuity.m3u8'), lines.join('\n'));
    await writeFile(stamp.replace(dir, scratch), recipe);
    await rm(dir, { recursive: true, force: true });
    await rename(scratch, dir);
  }
  const names = (await readdir(dir)).sort();
  const named = (prefix: string) => names.filter((f) => new RegExp(`^${prefix}\\d+\\.ts$`).test(f)).map((f) => path.join(dir, f));
  const sizeOf = async (list: string[]) => {
    let total = 0;
    for (const file of list) total += (await stat(file)).size;
    return total;
  };
  const [files, video, audio] = [named('s'), named('v'), named('a')];
  return { name, dir, files, bytes: await sizeOf(files), separate: { video, audio, bytes: (await sizeOf(video)) + (await sizeOf(audio)) } };
}

/** The origin process: serves `root` after `latency` ms per request; `/big?n=` for loopback bandwidth; `/last` the time the last segment body ended. */
async function serve(root: string, latencyMs: number): Promise<void> {
  let lastSegmentEnd = 0;
  let firstSegmentAsked = 0;
  const files = new Map<string, Buffer>();
  for (const name of await readdir(root)) if (/\.(ts|m3u8)$/.test(name)) files.set(`/${name}`, await readFile(path.join(root, name)));
  const sample = files.get('/s00000.ts') ?? Buffer.alloc(1 << 20);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/last') {
      res.end(JSON.stringify({ at: lastSegmentEnd, first: firstSegmentAsked }));
      firstSegmentAsked = 0;
      return;
    }
    if (url.pathname.endsWith('.ts') && firstSegmentAsked === 0) firstSegmentAsked = performance.timeOrigin + performance.now();
    if (url.pathname === '/big') {
      const count = Number(url.searchParams.get('n') ?? '1');
      res.writeHead(200, { 'content-length': sample.length * count });
      let sent = 0;
      const pump = () => {
        while (sent < count) {
          sent++;
          if (!res.write(sample)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    setTimeout(() => {
      const body = files.get(url.pathname);
      if (!body) return void res.writeHead(404).end();
      const segment = url.pathname.endsWith('.ts');
      res.writeHead(200, { 'content-type': segment ? 'video/mp2t' : 'application/vnd.apple.mpegurl', 'content-length': body.length });
      res.end(body, () => {
        if (segment) lastSegmentEnd = performance.timeOrigin + performance.now();
      });
    }, latencyMs);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

async function firstLine(child: ChildProcess, pattern = /\n/): Promise<string> {
  let text = '';
  for await (const chunk of child.stdout!) {
    text += String(chunk);
    const at = text.search(pattern);
    if (at >= 0) return text.slice(0, text.indexOf('\n', at) >= 0 ? text.indexOf('\n', at) : undefined);
  }
  throw new Error(`child ended without output: ${text}`);
}

function spawnNode(script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return spawn(process.execPath, [...loader, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, [CHILD_ENV]: '1', ...env } });
}

async function loopbackBandwidth(origin: string): Promise<number> {
  const started = performance.now();
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    http.get(`${origin}/big?n=200`, (res) => {
      res.on('data', (chunk: Buffer) => { received += chunk.length; });
      res.on('end', resolve);
      res.on('error', reject);
    }).on('error', reject);
  });
  return received / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const timed = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

/**
 * `cat` of the files, then one remux with and without `+faststart`: the merge's lower bound and faststart's
 * share. With `separate`, the video and the audio rendition are joined each and remuxed as two inputs.
 */
async function catAndRemux(set: SegmentSet, scratch: string, separate = false): Promise<{ catMs: number; remuxMs: number; remuxNoFaststartMs: number }> {
  const joined = path.join(scratch, 'all.ts');
  const audioJoined = path.join(scratch, 'audio.ts');
  const cat = () => separate
    ? timed(async () => {
      await run('sh', ['-c', 'cat "$@" > "$0"', joined, ...set.separate.video]);
      await run('sh', ['-c', 'cat "$@" > "$0"', audioJoined, ...set.separate.audio]);
    })
    : timed(() => run('sh', ['-c', 'cat "$@" > "$0"', joined, ...set.files]));
  // A median of three here too: one slow `cat` would flatter every ratio.
  const cats: number[] = [];
  for (let i = 0; i < 3; i++) cats.push(await cat());
  const catMs = median(cats);
  const inputs = separate ? ['-i', joined, '-i', audioJoined, '-map', '0:v', '-map', '1:a', ...MP4_OUTPUT.slice(4)] : ['-i', joined, ...MP4_OUTPUT];
  const remux = (flags: string[]) => timed(() => run(ffmpegBin(), ['-hide_banner', '-nostdin', '-loglevel', 'error', ...inputs, ...flags, '-f', 'mp4', '-y', path.join(scratch, 'out.mp4')]));
  // Alternated, medians of three each: one sample is noise on a shared machine.
  const withFaststart: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < 3; i++) {
    without.push(await remux([]));
    withFaststart.push(await remux(['-movflags', '+faststart']));
  }
  const remuxNoFaststartMs = median(without);
  const remuxMs = median(withFaststart);
  await rm(joined, { force: true });
  await rm(audioJoined, { force: true });
  await rm(path.join(scratch, 'out.mp4'), { force: true });
  return { catMs, remuxMs, remuxNoFaststartMs };
}

interface ServiceRun {
  ms: number;
  /** From the end of the last segment's body at the origin to the 已完成 event. */
  tailMs: number;
  /** From the POST to the first segment request at the origin (resolving the playlist is one request of it). */
  startMs: number;
  /** From the first segment request to the end of the last segment's body. */
  downloadMs: number;
  peakRssMb: number;
}

/** A service process as users run it (the binary's node flags), its peak RSS sampled from /proc. */
interface Service {
  base: string;
  peakRssMb(): Promise<number>;
  stop(): Promise<void>;
}

async function startService(scratch: string): Promise<Service> {
  const dir = await mkdtemp(path.join(scratch, 'service-'));
  const child = spawn(process.execPath, [...serviceNodeArgs(), 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, [CHILD_ENV]: '1', M3U8DM_DATA_DIR: path.join(dir, 'data'), M3U8DM_DOWNLOAD_DIR: path.join(dir, 'out'), M3U8DM_LOG_LEVEL: 'warn' },
  });
  let peakKb = 0;
  const sample = () => readFile(`/proc/${child.pid}/status`, 'utf8').then((text) => { peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(text)?.[1] ?? 0)); }, () => {});
  const sampler = setInterval(() => void sample(), 100);
  const stop = async () => {
    clearInterval(sampler);
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const base = /listening on (\S+)/.exec(await firstLine(child, /listening on/))?.[1];
    if (!base) throw new Error('service did not start');
    return { base, stop, peakRssMb: async () => { await sample(); return peakKb / 1024; } };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One task through `service`: POST → the `task.updated` event with status 2 (已完成); its output removed after. */
async function runTask(service: Service, url: string, origin: string, options: Record<string, unknown>, filename = 'bench'): Promise<Omit<ServiceRun, 'peakRssMb'>> {
  const { base } = service;
  const events = new AbortController();
  try {
    const stream = await fetch(`${base}/api/v1/events`, { signal: events.signal });
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    const started = performance.now();
    const res = await fetch(`${base}/api/v1/tasks`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url, filename, options: { download_threads: THREADS, ...options } }),
    });
    const id = ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids[0];
    let text = '';
    let output = '';
    const deadline = Date.now() + 600_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('the task did not complete in 10 minutes');
      const { value, done } = await reader.read();
      if (done) throw new Error('the event stream ended');
      text += value;
      let end: number;
      let completed = false;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const message = text.slice(0, end);
        text = text.slice(end + 2);
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (!data) continue;
        const task = (JSON.parse(data) as { task: { id: number; status: number; err_msg: string; output_path: string } }).task;
        if (task.id !== id) continue;
        if (task.status === 3) throw new Error(`the task failed: ${task.err_msg}`);
        if (task.status === 2) {
          completed = true;
          output = task.output_path;
        }
      }
      if (completed) break;
    }
    const doneAt = performance.timeOrigin + performance.now();
    const ms = performance.now() - started;
    const { at: last, first } = (await (await fetch(`${origin}/last`)).json()) as { at: number; first: number };
    // A warm service runs the next task on the same disk as the first: not one file fuller.
    if (output) await rm(output, { force: true });
    return { ms, tailMs: doneAt - last, startMs: first - (performance.timeOrigin + started), downloadMs: last - first };
  } finally {
    events.abort();
  }
}

/** One task through a fresh service process: the first task a service runs (its code not yet optimised). */
async function throughService(url: string, origin: string, scratch: string, options: Record<string, unknown>): Promise<ServiceRun> {
  const service = await startService(scratch);
  try {
    const run = await runTask(service, url, origin, options);
    return { ...run, peakRssMb: await service.peakRssMb() };
  } finally {
    await service.stop();
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function benchFollow(): Promise<Record<string, unknown>> {
  if (process.env[CHILD_ENV]) throw new Error('benchFollow must not run inside one of its own child processes');
  const root = path.resolve(path.dirname(SELF), SELF.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..', 'bench', '.work');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-bench-follow-'));
  const wanted = (process.env.M3U8DM_BENCH_FOLLOW ?? 'default,discontinuity,separate-audio,big').split(',');
  const cases = [
    { name: 'default', set: ['default', 200, 2, 1440] as const, playlist: 'index.m3u8' },
    { name: 'discontinuity', set: ['default', 200, 2, 1440] as const, playlist: 'discontinuity.m3u8' },
    { name: 'separate-audio', set: ['default', 200, 2, 1440] as const, playlist: 'separate.m3u8', separate: true },
    { name: 'big', set: ['big', 2000, 1, 400] as const, playlist: 'index.m3u8' },
  ].filter((c) => wanted.includes(c.name));
  const results: Record<string, unknown> = {};
  const lines: string[] = [];
  try {
    for (const c of cases) {
      const [setName, count, seconds, kbps] = c.set;
      const set = await ensureSet(root, setName, count, seconds, kbps);
      const server = spawnNode(SELF, ['serve', set.dir, String(LATENCY_MS)]);
      try {
        const { port } = JSON.parse(await firstLine(server)) as { port: number };
        const origin = `http://127.0.0.1:${port}`;
        const url = `${origin}/${c.playlist}`;
        await loopbackBandwidth(origin); // warm-up
        const bandwidth = await loopbackBandwidth(origin);
        const separate = 'separate' in c;
        const lower = await catAndRemux(set, scratch, separate);
        // Requests and bytes of both renditions when the audio is separate (its playlist is one more request, not counted).
        const n = separate ? set.separate.video.length + set.separate.audio.length : set.files.length;
        const bytes = separate ? set.separate.bytes : set.bytes;
        const downloadIdealMs = Math.ceil(n / THREADS) * LATENCY_MS + (bytes / bandwidth) * 1000;
        const idealMs = downloadIdealMs + lower.catMs + lower.remuxMs;
        // Alternated rounds, medians (by total time) of each: the big case once, it takes long.
        const rounds = c.name === 'big' ? 1 : 3;
        const followedRuns: ServiceRun[] = [];
        const sequentialRuns: ServiceRun[] = [];
        for (let round = 0; round < rounds; round++) {
          followedRuns.push(await throughService(url, origin, scratch, {}));
          sequentialRuns.push(await throughService(url, origin, scratch, { follow_merge: false }));
        }
        // The same in one service that has run a task before (a local service's usual state: its code is
        // optimised by then), the first task not counted.
        const warmFollowed: Omit<ServiceRun, 'peakRssMb'>[] = [];
        const warmSequential: Omit<ServiceRun, 'peakRssMb'>[] = [];
        const service = await startService(scratch);
        let warmPeakRssMb: number;
        try {
          await runTask(service, url, origin, {}, 'warm-up');
          for (let round = 0; round < rounds; round++) {
            warmFollowed.push(await runTask(service, url, origin, {}, `followed-${round}`));
            warmSequential.push(await runTask(service, url, origin, { follow_merge: false }, `sequential-${round}`));
          }
          warmPeakRssMb = await service.peakRssMb();
        } finally {
          await service.stop();
        }
        const middle = <T extends { ms: number }>(runs: T[]) => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
        const followed = middle(followedRuns);
        const sequential = middle(sequentialRuns);
        const warm = { followed: middle(warmFollowed), sequential: middle(warmSequential) };
        const row = {
          segments: n,
          rounds,
          mb: Number((bytes / 1e6).toFixed(1)),
          ideal_ms: Math.round(idealMs),
          cat_ms: Math.round(lower.catMs),
          remux_ms: Math.round(lower.remuxMs),
          remux_no_faststart_ms: Math.round(lower.remuxNoFaststartMs),
          faststart_share: Number(((lower.remuxMs - lower.remuxNoFaststartMs) / lower.remuxMs).toFixed(2)),
          followed_ms: Math.round(followed.ms),
          followed_ratio: Number((followed.ms / idealMs).toFixed(2)),
          followed_tail_ms: Math.round(followed.tailMs),
          followed_first_segment_ms: Math.round(followed.startMs),
          followed_download_ms: Math.round(followed.downloadMs),
          download_ideal_ms: Math.round(downloadIdealMs),
          followed_peak_rss_mb: Number(followed.peakRssMb.toFixed(0)),
          sequential_ms: Math.round(sequential.ms),
          sequential_ratio: Number((sequential.ms / idealMs).toFixed(2)),
          sequential_tail_ms: Math.round(sequential.tailMs),
          sequential_peak_rss_mb: Number(sequential.peakRssMb.toFixed(0)),
          warm_followed_ms: Math.round(warm.followed.ms),
          warm_followed_ratio: Number((warm.followed.ms / idealMs).toFixed(2)),
          warm_followed_tail_ms: Math.round(warm.followed.tailMs),
          warm_sequential_ms: Math.round(warm.sequential.ms),
          warm_sequential_ratio: Number((warm.sequential.ms / idealMs).toFixed(2)),
          warm_sequential_tail_ms: Math.round(warm.sequential.tailMs),
          warm_peak_rss_mb: Number(warmPeakRssMb.toFixed(0)),
        };
        results[c.name] = row;
        lines.push(
          `${c.name}: ${n} segments, ${row.mb} MB, ${LATENCY_MS} ms latency, ${THREADS} threads, loopback ${(bandwidth / 1e6).toFixed(0)} MB/s, median of ${rounds}`,
          `  sequential ideal ${s(idealMs)} (cat ${s(lower.catMs)} + remux ${s(lower.remuxMs)}; without +faststart ${s(lower.remuxNoFaststartMs)}, faststart ${Math.round(row.faststart_share * 100)}% of the remux)`,
          `  followed:   ${s(followed.ms)} = ${row.followed_ratio}× ideal (target ≤ ${TARGET_RATIO}×), last segment → 已完成 ${s(followed.tailMs)}, peak RSS ${row.followed_peak_rss_mb} MB`,
          `              POST → first segment request ${s(followed.startMs)}, first request → last body ${s(followed.downloadMs)} (its ideal ${s(downloadIdealMs)})`,
          `  sequential: ${s(sequential.ms)} = ${row.sequential_ratio}× ideal, last segment → 已完成 ${s(sequential.tailMs)}, peak RSS ${row.sequential_peak_rss_mb} MB`,
          `  in a warm service (after one task; peak RSS ${row.warm_peak_rss_mb} MB over ${2 * rounds + 1} tasks):`,
          `    followed:   ${s(warm.followed.ms)} = ${row.warm_followed_ratio}× ideal, last segment → 已完成 ${s(warm.followed.tailMs)}; POST → first segment request ${s(warm.followed.startMs)}, download ${s(warm.followed.downloadMs)}`,
          `    sequential: ${s(warm.sequential.ms)} = ${row.warm_sequential_ratio}× ideal, last segment → 已完成 ${s(warm.sequential.tailMs)}`,
        );
      } finally {
        server.kill('SIGTERM');
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  console.log(`\nend to end through the API (POST → 已完成)\n${lines.join('\n')}`);
  return results;
}

const mode = process.argv[2];
if (process.argv[1] && path.resolve(process.argv[1]) === SELF && mode) {
  const job = mode === 'serve' && process.env[CHILD_ENV] ? serve(process.argv[3] ?? '', Number(process.argv[4] ?? LATENCY_MS))
    : mode === 'run' ? benchFollow().then(() => undefined)
    : Promise.reject(new Error(`unknown mode ${mode}; expected serve or run`));
  job.catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
