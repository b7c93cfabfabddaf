// A real HTTP server on 127.0.0.1 that serves a fixture folder, with the
// misbehaviours the engine must survive: latency, required headers, random
// 500s and connection resets, per-path overrides. Logs every request.
import { createReadStream } from 'node:fs';
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

export async function startHlsServer(options: HlsServerOptions): Promise<HlsServer> {
  const requests: RequestLogEntry[] = [];
  const overrides: Override[] = [];
  const sockets = new Set<Socket>();
  const random = prng(options.seed ?? 42);
  let port = options.port ?? 0;

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const entry: RequestLogEntry = { method: req.method ?? 'GET', path: urlPath, status: 0, headers: req.headers, range: req.headers.range, outcome: 'ok', at: Date.now() };
    requests.push(entry);
    res.on('finish', () => { entry.status = res.statusCode; });
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));

    for (const fn of overrides) if (await fn(req, res, urlPath)) return;

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
    createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res);
  };

  let server = http.createServer();
  const listen = async () => {
    server = http.createServer((req, res) => {
      handler(req, res).catch(() => res.destroy());
    });
    server.keepAliveTimeout = 5_000;
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
    options,
    stop,
    start: listen,
    close: stop,
  };
}
