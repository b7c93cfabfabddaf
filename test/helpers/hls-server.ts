// A real HTTP server on 127.0.0.1 that serves a fixture folder, with the
// misbehaviours the engine must survive: latency, required headers, random
// 500s and connection resets, 429/503 with Retry-After, per-path overrides.
// Logs every request, the body bytes it sent, and how many were in flight at once.
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { stat } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';

export interface RequestLogEntry {
  method: string;
  /** Path without the query string. */
  path: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  range?: string;
  /** 'reset' when the server dropped the connection on purpose. */
  outcome: 'ok' | 'error' | 'reset';
  /** When the request arrived (ms since the epoch). */
  at: number;
  /** Body bytes handed to the socket so far (grows while the response streams). */
  bytes: number;
  /** Requests in flight at this server when this one arrived, itself included. */
  inFlight: number;
}

/** Answer with `status` (and Retry-After) instead of serving: for the next `times` matching requests, or while more than `whileOver` are in flight. */
export interface RejectRule {
  status: 429 | 503;
  /** Retry-After value as sent (seconds or an HTTP date); none when absent. */
  retryAfter?: string | (() => string);
  /** Only requests whose path matches. @defaultValue every path */
  match?: RegExp;
  /** How many requests to reject. @defaultValue Infinity */
  times?: number;
  /** Reject only while more than this many requests are in flight (a strict CDN). */
  whileOver?: number;
}

export interface HlsServerOptions {
  /** Folder to serve. */
  root: string;
  /** Delay before each response starts, in ms. */
  latencyMs?: number;
  /** Answer 403 unless every one of these headers is present with this value. */
  requireHeaders?: Record<string, string>;
  /** Fraction (0–1) of segment/key requests that fail: half 500, half connection reset. */
  failRate?: number;
  /** Seed for the failure pattern so a run is repeatable. */
  seed?: number;
  /** Port to listen on (0 picks one). */
  port?: number;
  /**
   * Serve every .ts segment padded to this many bytes with MPEG-TS null packets (still valid TS):
   * long-lasting bodies for speed tests without big files. Loopback sockets buffer megabytes, so
   * a body must be much longer than that for the bytes sent to track the bytes read.
   */
  padSegmentsTo?: number;
}

/** Return true when the override answered the request. */
export type Override = (req: IncomingMessage, res: ServerResponse, urlPath: string) => boolean | Promise<boolean>;

export interface HlsServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  url(relative: string): string;
  readonly requests: RequestLogEntry[];
  /** How many requests hit this path (exact match). */
  hits(urlPath: string): number;
  override(fn: Override): void;
  /** Adds a rule answering 429/503 (with Retry-After) instead of the file. */
  reject(rule: RejectRule): void;
  /** Body bytes sent so far, to paths starting with `prefix` (all when absent). */
  bytesSent(prefix?: string): number;
  /**
   * Body bytes the clients have read so far, to paths starting with `prefix`: what was sent less what
   * still sits in Node's socket buffer, in this server's unacknowledged send queue and in the
   * client's unread receive queue (from /proc/net/tcp). Loopback sockets buffer megabytes, so bytes
   * sent alone show bursts, not the rate a client reads at. A connection that closes unread keeps
   * counting as holding what it held at the last call. Falls back to `bytesSent` without /proc.
   */
  bytesDelivered(prefix?: string): Promise<number>;
  /** Requests in flight right now, and the most there have been at once since start or `resetPeak()`. */
  readonly inFlight: number;
  readonly peakInFlight: number;
  resetPeak(): void;
  readonly options: HlsServerOptions;
  /** Stop listening and drop every open connection; `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

const TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.bin': 'application/octet-stream',
  '.html': 'text/html; charset=utf-8',
};

/** An MPEG-TS null packet (PID 0x1FFF): demuxers drop it. */
const NULL_PACKET = Buffer.concat([Buffer.from([0x47, 0x1f, 0xff, 0x10]), Buffer.alloc(184, 0xff)]);
const NULL_RUN = Buffer.concat(Array.from({ length: 348 }, () => NULL_PACKET)); // 64 KiB or so

/** The file, then `packets` null packets, streamed with backpressure. */
function padded(file: Readable, packets: number): Readable {
  return Readable.from((async function* () {
    for await (const chunk of file) yield chunk as Buffer;
    for (let left = packets; left > 0; left -= 348) yield left >= 348 ? NULL_RUN : NULL_RUN.subarray(0, left * 188);
  })(), { objectMode: false });
}

export async function startHlsServer(options: HlsServerOptions): Promise<HlsServer> {
  const requests: RequestLogEntry[] = [];
  const overrides: Override[] = [];
  const sockets = new Set<Socket>();
  const random = prng(options.seed ?? 42);
  const rules: RejectRule[] = [];
  let port = options.port ?? 0;
  let inFlight = 0;
  let peakInFlight = 0;
  /** The request each open connection serves now (or served last). */
  const current = new Map<Socket, RequestLogEntry>();
  /** What each connection's buffers held at the last bytesDelivered call; lost when it closes unread. */
  const lastHeld = new Map<Socket, number>();
  const lost: { path: string; bytes: number }[] = [];

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    // In flight from arrival until the response is done or its connection is gone.
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    let counted = true;
    const done = () => {
      if (counted) inFlight--;
      counted = false;
    };
    res.once('finish', done);
    res.once('close', done);
    const entry: RequestLogEntry = {
      method: req.method ?? 'GET', path: urlPath, status: 0, headers: req.headers, range: req.headers.range, outcome: 'ok', at: Date.now(), bytes: 0, inFlight,
    };
    requests.push(entry);
    current.set(req.socket, entry);
    res.on('finish', () => { entry.status = res.statusCode; });
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));

    for (const fn of overrides) if (await fn(req, res, urlPath)) return;

    for (const rule of rules) {
      if ((rule.times ?? Infinity) <= 0 || (rule.match && !rule.match.test(urlPath))) continue;
      if (rule.whileOver !== undefined && inFlight <= rule.whileOver) continue;
      if (rule.times !== undefined) rule.times--;
      const retryAfter = typeof rule.retryAfter === 'function' ? rule.retryAfter() : rule.retryAfter;
      res.writeHead(rule.status, { 'content-type': 'text/plain', ...(retryAfter !== undefined ? { 'retry-after': retryAfter } : {}) }).end('slow down');
      return;
    }

    for (const [name, value] of Object.entries(options.requireHeaders ?? {})) {
      if (req.headers[name.toLowerCase()] !== value) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden');
        return;
      }
    }
    if (options.failRate && !urlPath.endsWith('.m3u8') && random() < options.failRate) {
      if (random() < 0.5) {
        entry.outcome = 'reset';
        req.socket.destroy();
      } else {
        entry.outcome = 'error';
        res.writeHead(500, { 'content-type': 'text/plain' }).end('injected failure');
      }
      return;
    }

    const file = path.join(options.root, path.normalize(urlPath).replace(/^([/\\])+/, ''));
    if (!file.startsWith(path.resolve(options.root))) {
      res.writeHead(400).end();
      return;
    }
    let size: number;
    let mtime: Date;
    try {
      const st = await stat(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
      mtime = st.mtime;
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: http.OutgoingHttpHeaders = {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'last-modified': mtime.toUTCString(),
      'accept-ranges': 'bytes',
    };
    if (options.padSegmentsTo && file.endsWith('.ts') && options.padSegmentsTo > size) {
      res.writeHead(200, { ...headers, 'content-length': options.padSegmentsTo - ((options.padSegmentsTo - size) % 188) });
      padded(createReadStream(file), Math.floor((options.padSegmentsTo - size) / 188))
        .on('error', () => res.destroy())
        .on('data', (chunk: Buffer) => { entry.bytes += chunk.length; })
        .pipe(res);
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = size - 1;
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end || start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
    } else {
      res.writeHead(200, { ...headers, 'content-length': size });
    }
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file, { start, end })
      .on('error', () => res.destroy())
      .on('data', (chunk) => { entry.bytes += chunk.length; })
      .pipe(res);
  };

  let server = http.createServer();
  const listen = async () => {
    server = http.createServer((req, res) => {
      handler(req, res).catch(() => res.destroy());
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => {
        const entry = current.get(s);
        const held = lastHeld.get(s);
        if (entry && held) lost.push({ path: entry.path, bytes: held });
        sockets.delete(s);
        current.delete(s);
        lastHeld.delete(s);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  };
  const bytesSent = (prefix = '') => requests.reduce((sum, r) => (r.path.startsWith(prefix) ? sum + r.bytes : sum), 0);
  // eslint-disable-next-line @typescript-eslint/require-await -- reads synchronously on purpose (below), behind the Promise its interface gives
  const bytesDelivered = async (prefix = '') => {
    let table: string;
    try {
      // Read synchronously: no send or read of this process runs between the table and the counts,
      // so they describe one moment (a send landing in between would look like megabytes delivered).
      table = readFileSync('/proc/net/tcp', 'utf8');
    } catch {
      return bytesSent(prefix);
    }
    // `local remote st tx_queue:rx_queue`, addresses as hex `0100007F:1F90`.
    const queues = new Map<string, { tx: number; rx: number }>();
    for (const line of table.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5) continue;
      const [tx, rx] = (f[4] ?? '0:0').split(':').map((h) => parseInt(h, 16));
      queues.set(`${f[1]}>${f[2]}`, { tx: tx ?? 0, rx: rx ?? 0 });
    }
    const hex = (p: number) => `0100007F:${p.toString(16).toUpperCase().padStart(4, '0')}`;
    let held = 0;
    for (const [socket, entry] of current) {
      if (!entry.path.startsWith(prefix) || socket.remotePort === undefined) continue;
      const mine = queues.get(`${hex(port)}>${hex(socket.remotePort)}`);
      const peer = queues.get(`${hex(socket.remotePort)}>${hex(port)}`);
      const bytes = socket.writableLength + (mine?.tx ?? 0) + (peer?.rx ?? 0);
      lastHeld.set(socket, bytes);
      held += bytes;
    }
    // A connection that closed with bytes still in its buffers (a stopped download) never delivered them.
    for (const l of lost) if (l.path.startsWith(prefix)) held += l.bytes;
    return Math.max(0, bytesSent(prefix) - held);
  };
  const stop = async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  await listen();

  return {
    get port() { return port; },
    get origin() { return `http://127.0.0.1:${port}`; },
    url: (relative) => `http://127.0.0.1:${port}/${relative.replace(/^\//, '')}`,
    requests,
    hits: (p) => requests.filter((r) => r.path === p).length,
    override: (fn) => { overrides.push(fn); },
    reject: (rule) => { rules.push({ ...rule }); },
    bytesSent,
    bytesDelivered,
    get inFlight() { return inFlight; },
    get peakInFlight() { return peakInFlight; },
    resetPeak: () => { peakInFlight = inFlight; },
    options,
    stop,
    start: listen,
    close: stop,
  };
}
