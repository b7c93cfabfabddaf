// Speed-limit benchmark: the throughput downloadStream reaches under a shared limit
// of 0.5, 2 and 8 MB/s, against that limit (the ratio should be close to 1), and what
// the limiter costs when nothing is limited: the same unlimited download with no
// limits at all, with the limits in place but set to 0 (the path every service task
// takes), and under a limit too high to bind (10 GB/s, so the token bucket is asked
// for every chunk), rotated in one run and compared by their medians, fastest runs and per-round ratios.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { downloadStream, TransferLimits, type DownloadLimits } from '../src/downloader/index.js';
import { downloadOptionsFor } from '../src/manager/download-options.js';
import { DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS } from '../src/manager/settings.js';
import type { TaskOptions } from '../src/types.js';
import { startSegmentServer } from './download.js';

const MB = 1024 * 1024;
const LIMITS_MB = [0.5, 2, 8] as const;
/** Each limited run lasts about this long at its limit. */
const LIMITED_SECONDS = 5;
const THREADS = 8;
const UNLIMITED_SEGMENTS = 600;
const ROUNDS = 11;

const OPTIONS: TaskOptions = { ...DEFAULT_SETTINGS, ...DEFAULT_TASK_EXTRAS, download_threads: THREADS };

async function timed(url: string, scratch: string, limits: DownloadLimits | undefined, segments: number): Promise<number> {
  const workDir = await mkdtemp(path.join(scratch, 'w-'));
  const started = performance.now();
  const result = await downloadStream({
    url, headers: {}, options: downloadOptionsFor(OPTIONS), workDir, signal: new AbortController().signal, onProgress: () => {},
    ...(limits ? { limits } : {}),
  });
  const ms = performance.now() - started;
  if (result.segments.length !== segments) throw new Error(`expected ${segments} segments, got ${result.segments.length}`);
  await rm(workDir, { recursive: true, force: true });
  return ms;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchLimits(): Promise<Record<string, unknown>> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-bench-limits-'));
  // No latency: the limit, not the server, should set the pace.
  const server = await startSegmentServer(0);
  try {
    const { origin, segmentBytes } = server;
    const rows: { limit_mb_s: number; bytes: number; ms: number; throughput_mb_s: number; ratio: number }[] = [];
    for (const limitMb of LIMITS_MB) {
      const limit = limitMb * MB;
      const segments = Math.max(4, Math.round((limit * LIMITED_SECONDS) / segmentBytes));
      const transfer = new TransferLimits();
      transfer.configure({ max_download_speed: limit, max_connections_per_host: 0 });
      const limits = transfer.open(1, 0);
      const ms = await timed(`${origin}/index-${segments}.m3u8`, scratch, limits, segments);
      transfer.release(1, limits);
      // The playlist is a few hundred bytes; the segments are what the limit paces.
      const bytes = segments * segmentBytes;
      const throughput = bytes / (ms / 1000);
      rows.push({ limit_mb_s: limitMb, bytes, ms: Math.round(ms), throughput_mb_s: Number((throughput / MB).toFixed(3)), ratio: Number((throughput / limit).toFixed(3)) });
    }

    const url = `${origin}/index-${UNLIMITED_SEGMENTS}.m3u8`;
    const unlimited = new TransferLimits();
    const ceiling = new TransferLimits();
    ceiling.configure({ max_download_speed: 10 * 1024 ** 3, max_connections_per_host: 0 });
    const cases = {
      none: () => timed(url, scratch, undefined, UNLIMITED_SEGMENTS),
      unlimited: async () => {
        const limits = unlimited.open(2, 0);
        try {
          return await timed(url, scratch, limits, UNLIMITED_SEGMENTS);
        } finally {
          unlimited.release(2, limits);
        }
      },
      ceiling: async () => {
        const limits = ceiling.open(3, 0);
        try {
          return await timed(url, scratch, limits, UNLIMITED_SEGMENTS);
        } finally {
          ceiling.release(3, limits);
        }
      },
    };
    await cases.none(); // warm-up: JIT, disk cache
    const times: Record<keyof typeof cases, number[]> = { none: [], unlimited: [], ceiling: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Rotated, so each case runs first, second and third equally often and the machine's drift lands on all alike.
      const names = Object.keys(cases) as (keyof typeof cases)[];
      const order = names.map((_n, i) => names[(i + round) % names.length]!);
      for (const name of order) times[name].push(await cases[name]());
    }
    const none = median(times.none);
    const unlimitedMs = median(times.unlimited);
    const ceilingMs = median(times.ceiling);
    // The fastest run of each: noise on a shared machine only ever adds time.
    const best = (name: keyof typeof cases) => Math.min(...times[name]);
    // Paired: each round's ratio to the no-limits run of the same round, so slow spells cancel out.
    const paired = (name: keyof typeof cases) => median(times[name].map((ms, i) => ms / times.none[i]!));

    console.log([
      `speed limits: ${THREADS} threads, ${(segmentBytes / 1024).toFixed(0)} KiB segments, about ${LIMITED_SECONDS} s at each limit`,
      `${'limit'.padEnd(12)}${'time'.padStart(10)}${'throughput'.padStart(14)}${'ratio'.padStart(8)}`,
      ...rows.map((r) => `${`${r.limit_mb_s} MB/s`.padEnd(12)}${`${(r.ms / 1000).toFixed(2)} s`.padStart(10)}${`${r.throughput_mb_s.toFixed(2)} MB/s`.padStart(14)}${r.ratio.toFixed(3).padStart(8)}`),
      `limiter cost when unlimited, ${UNLIMITED_SEGMENTS} segments (${((UNLIMITED_SEGMENTS * segmentBytes) / MB).toFixed(0)} MB), ${ROUNDS} rounds, rotated`,
      `${''.padEnd(44)}${'median'.padStart(10)}${'fastest'.padStart(10)}${'paired ratio'.padStart(14)}`,
      ...(['none', 'unlimited', 'ceiling'] as const).map((name) => {
        const label = { none: 'no limits at all', unlimited: 'limits set to 0 (every service task)', ceiling: '10 GB/s limit (bucket asked, never waits)' }[name];
        const ratio = name === 'none' ? '' : `${paired(name).toFixed(3)}×`;
        return `${`  ${label}`.padEnd(44)}${`${(median(times[name]) / 1000).toFixed(3)} s`.padStart(10)}${`${(best(name) / 1000).toFixed(3)} s`.padStart(10)}${ratio.padStart(14)}`;
      }),
    ].join('\n'));

    return {
      segment_bytes: segmentBytes,
      threads: THREADS,
      limited: rows,
      unlimited_segments: UNLIMITED_SEGMENTS,
      no_limits_ms: Math.round(none),
      limits_at_zero_ms: Math.round(unlimitedMs),
      limit_10gb_ms: Math.round(ceilingMs),
      limits_at_zero_ratio: Number((unlimitedMs / none).toFixed(3)),
      limit_10gb_ratio: Number((ceilingMs / none).toFixed(3)),
      limits_at_zero_ratio_paired: Number(paired('unlimited').toFixed(3)),
      limit_10gb_ratio_paired: Number(paired('ceiling').toFixed(3)),
      limits_at_zero_ratio_fastest: Number((best('unlimited') / best('none')).toFixed(3)),
      limit_10gb_ratio_fastest: Number((best('ceiling') / best('none')).toFixed(3)),
    };
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
