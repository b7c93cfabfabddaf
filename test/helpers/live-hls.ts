// A live HLS origin on 127.0.0.1 for the recording tests and the bench: it publishes
// a sliding window of real ffmpeg-made segments (the `live` fixture, looped), one
// more every `segmentMs`, computed from the clock on each request so it needs no
// timers. Switches: ENDLIST after N segments, an EVENT playlist that never slides,
// a media sequence restart, an inserted discontinuity, an outage (stops listening),
// AES-128 keys that rotate every few segments, a stream that appears late. Every
// request is logged; each segment has a URI of its own, so "fetched twice" is a count.
import { createCipheriv, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { ensureFixture } from './hls-fixtures.js';

export interface LiveSimOptions {
  /** Segments listed at once. @defaultValue 6 */
  window?: number;
  /** Time between two published segments, in ms. @defaultValue the segments' duration (500) */
  segmentMs?: number;
  /** After this many segments the playlist gets EXT-X-ENDLIST and stops growing. */
  endAfter?: number;
  /** `EVENT`: the playlist keeps every segment from the first (EXT-X-PLAYLIST-TYPE:EVENT). */
  playlistType?: 'EVENT';
  /** Encrypt with AES-128, a new key (and EXT-X-KEY) every this many segments; IV from the media sequence. */
  rotateKeyEvery?: number;
  /** The playlist answers 404 until this long after start, then lists no segment for `emptyMs`. */
  appearAfterMs?: number;
  emptyMs?: number;
  /** First media sequence number. @defaultValue 0 */
  firstSequence?: number;
  /** The server closes itself after this long, whatever the test does. @defaultValue 120 000 */
  lifetimeMs?: number;
  /** Segments already published when the simulator starts (a stream that was running). @defaultValue `window` */
  initial?: number;
  /** Every segment request answers this status instead of the segment (an origin whose segments are gone). */
  segmentStatus?: number;
  /** Segments are answered this long after they are asked for (a slow origin). */
  segmentDelayMs?: number;
  /** Publish the `fmp4` fixture's 1 s fragments (EXT-X-MAP init section) instead of 0.5 s MPEG-TS. */
  fmp4?: boolean;
}

export interface LiveRequest {
  path: string;
  status: number;
  at: number;
}

export interface PublishedSegment {
  /** Publication number: 0 for the first segment ever published. */
  n: number;
  sequence: number;
  uri: string;
  duration: number;
  discontinuity: boolean;
}

export interface LiveSim {
  /** URL of the media playlist. */
  readonly url: string;
  /** URL of a master playlist whose only variant is the live media playlist. */
  readonly masterUrl: string;
  readonly origin: string;
  readonly requests: LiveRequest[];
  /** Segments published so far (those that left the window included). */
  published(): PublishedSegment[];
  /**
   * Published segments that some playlist response listed: what a client could have seen. A segment
   * published just before a sequence restart may never be listed (the restarted origin drops its window).
   */
  listed(): PublishedSegment[];
  /** How many segments had been published at that time (ms since the epoch). */
  countAt(time: number): number;
  /** The plain bytes of a published segment (decrypted, as a recording must keep them). */
  body(n: number): Buffer;
  /** GETs of one segment by its publication number. */
  fetches(n: number): number;
  /** Publication numbers fetched more than once. */
  fetchedTwice(): number[];
  /** The media sequence number starts again from `from` at the next published segment. */
  restartSequence(from?: number): void;
  /** The next published segment carries EXT-X-DISCONTINUITY. */
  insertDiscontinuity(): void;
  /** Stops answering (connections refused) for `ms`, publishing on meanwhile; resolves when back. */
  goDown(ms: number): Promise<void>;
  /** Ends the stream now: ENDLIST after the segments published so far. */
  end(): void;
  close(): Promise<void>;
}

interface SourceSegment {
  file: string;
  duration: number;
}

async function sourceSegments(fmp4: boolean): Promise<{ segments: SourceSegment[]; init?: string }> {
  const fixture = await ensureFixture(fmp4 ? 'fmp4' : 'live');
  const text = await readFile(path.join(fixture.dir, fixture.playlist), 'utf8');
  const segments: SourceSegment[] = [];
  let duration = 0;
  let init: string | undefined;
  for (const line of text.split('\n')) {
    const map = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line);
    if (map) init = path.join(fixture.dir, map[1]!);
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) segments.push({ file: path.join(fixture.dir, line.trim()), duration });
  }
  return init ? { segments, init } : { segments };
}

/** The 16-byte key of key period `k`: derived, so nothing needs storing. */
export function liveKey(k: number): Buffer {
  return createHash('sha256').update(`live-key-${k}`).digest().subarray(0, 16);
}

export async function startLiveSim(options: LiveSimOptions = {}): Promise<LiveSim> {
  const { segments: sources, init } = await sourceSegments(options.fmp4 === true);
  const bodies = await Promise.all(sources.map((s) => readFile(s.file)));
  const initBody = init ? await readFile(init) : undefined;
  const extension = initBody ? 'm4s' : 'ts';
  const window = options.window ?? 6;
  const segmentMs = options.segmentMs ?? Math.round((sources[0]?.duration ?? 0.5) * 1000);
  const initial = options.initial ?? window;
  const requests: LiveRequest[] = [];
  const fetchCounts = new Map<number, number>();
  const sockets = new Set<Socket>();
  const t0 = Date.now();
  /** Publication numbers where the sequence restarts, with the number it restarts from. */
  const restarts: Array<{ at: number; from: number }> = [];
  const discontinuities = new Set<number>();
  const everListed = new Set<number>();
  let endAt = options.endAfter;
  let down = false;

  const count = (time = Date.now()): number => {
    const n = initial + Math.floor((time - t0) / segmentMs);
    return endAt === undefined ? n : Math.min(n, endAt);
  };
  const sequenceOf = (n: number): number => {
    let base = options.firstSequence ?? 0;
    let from = 0;
    for (const r of restarts) {
      if (r.at > n) break;
      base = r.from;
      from = r.at;
    }
    return base + (n - from);
  };
  const sourceOf = (n: number) => n % sources.length;
  // Looping the material sends timestamps back to the start: a real origin splicing would mark it, so does this one.
  const isDiscontinuity = (n: number) => n > 0 && (discontinuities.has(n) || sourceOf(n) === 0);
  const segment = (n: number): PublishedSegment => ({
    n,
    sequence: sequenceOf(n),
    uri: `seg-${n}.${extension}`,
    duration: sources[sourceOf(n)]!.duration,
    discontinuity: isDiscontinuity(n),
  });

  const playlist = (): string | undefined => {
    const elapsed = Date.now() - t0;
    if (options.appearAfterMs && elapsed < options.appearAfterMs) return undefined;
    const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(Math.max(...sources.map((s) => s.duration))))}`];
    const empty = options.emptyMs && elapsed < (options.appearAfterMs ?? 0) + options.emptyMs;
    const last = count();
    // A restarted origin lists nothing from before its restart.
    const restartedAt = restarts.filter((r) => r.at <= last).at(-1)?.at ?? 0;
    const first = empty ? last : Math.max(restartedAt, options.playlistType === 'EVENT' ? 0 : last - window);
    lines.push(`#EXT-X-MEDIA-SEQUENCE:${sequenceOf(first)}`);
    if (options.playlistType) lines.push(`#EXT-X-PLAYLIST-TYPE:${options.playlistType}`);
    if (initBody) lines.push('#EXT-X-MAP:URI="init.mp4"');
    let key = -1;
    for (let n = first; n < last; n++) {
      everListed.add(n);
      const s = segment(n);
      // A discontinuity right at the window's start is still announced (RFC 8216 §6.2.1 EXT-X-DISCONTINUITY-SEQUENCE aside).
      if (s.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
      if (options.rotateKeyEvery) {
        const k = Math.floor(n / options.rotateKeyEvery);
        if (k !== key) lines.push(`#EXT-X-KEY:METHOD=AES-128,URI="key-${k}.bin"`);
        key = k;
      }
      lines.push(`#EXTINF:${s.duration.toFixed(6)},`, s.uri);
    }
    if (endAt !== undefined && last >= endAt) lines.push('#EXT-X-ENDLIST');
    return `${lines.join('\n')}\n`;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const urlPath = new URL(req.url ?? '/', 'http://x').pathname;
    const entry: LiveRequest = { path: urlPath, status: 0, at: Date.now() };
    requests.push(entry);
    res.on('finish', () => { entry.status = res.statusCode; });
    const send = (status: number, type: string, body: string | Buffer) =>
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' }).end(body);
    if (urlPath === '/live/master.m3u8') {
      send(200, 'application/vnd.apple.mpegurl', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x120\nindex.m3u8\n');
      return;
    }
    if (urlPath === '/live/index.m3u8') {
      const text = playlist();
      if (text === undefined) send(404, 'text/plain', 'not live yet');
      else send(200, 'application/vnd.apple.mpegurl', text);
      return;
    }
    const key = /^\/live\/key-(\d+)\.bin$/.exec(urlPath);
    if (key) {
      send(200, 'application/octet-stream', liveKey(Number(key[1])));
      return;
    }
    if (urlPath === '/live/init.mp4' && initBody) {
      send(200, 'video/mp4', initBody);
      return;
    }
    const seg = /^\/live\/seg-(\d+)\.(?:ts|m4s)$/.exec(urlPath);
    const n = seg ? Number(seg[1]) : -1;
    // Only what is published exists; a segment that left the window stays fetchable for a while, as on real CDNs.
    if (!seg || n >= count() || n < count() - window * 4) {
      send(404, 'text/plain', 'not found');
      return;
    }
    fetchCounts.set(n, (fetchCounts.get(n) ?? 0) + 1);
    if (options.segmentStatus) {
      send(options.segmentStatus, 'text/plain', 'gone');
      return;
    }
    let body = bodies[sourceOf(n)]!;
    if (options.rotateKeyEvery) {
      const iv = Buffer.alloc(16);
      iv.writeBigUInt64BE(BigInt(sequenceOf(n)), 8);
      const cipher = createCipheriv('aes-128-cbc', liveKey(Math.floor(n / options.rotateKeyEvery)), iv);
      body = Buffer.concat([cipher.update(body), cipher.final()]);
    }
    const type = initBody ? 'video/iso.segment' : 'video/mp2t';
    if (options.segmentDelayMs) setTimeout(() => send(200, type, body), options.segmentDelayMs);
    else send(200, type, body);
  };

  let server: http.Server;
  let port = 0;
  const listen = async () => {
    server = http.createServer(handle);
    server.keepAliveTimeout = 2_000;
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  };
  let closed = false;
  const stopListening = async () => {
    const done = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    await done;
  };
  await listen();
  const lifetime = setTimeout(() => void close(), options.lifetimeMs ?? 120_000);
  lifetime.unref();
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    clearTimeout(lifetime);
    if (!down) await stopListening();
  }

  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/live/index.m3u8`,
    masterUrl: `${origin}/live/master.m3u8`,
    origin,
    requests,
    published: () => Array.from({ length: count() }, (_, n) => segment(n)),
    listed: () => Array.from({ length: count() }, (_, n) => segment(n)).filter((s) => everListed.has(s.n)),
    countAt: (time) => count(time),
    body: (n) => bodies[sourceOf(n)]!,
    fetches: (n) => fetchCounts.get(n) ?? 0,
    fetchedTwice: () => [...fetchCounts].filter(([, c]) => c > 1).map(([n]) => n),
    restartSequence(from = 0) {
      restarts.push({ at: count(), from });
    },
    insertDiscontinuity() {
      discontinuities.add(count());
    },
    async goDown(ms) {
      if (closed || down) return;
      down = true;
      await stopListening();
      await new Promise((r) => setTimeout(r, ms));
      down = false;
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may run during the wait
      if (!closed) await listen();
    },
    end() {
      endAt = count();
    },
    close,
  };
}
