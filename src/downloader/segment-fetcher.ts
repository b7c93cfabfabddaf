// Fetches one segment (or the init section) into the work folder: the body
// streams through decryption and cleaning into `<name>.part`, which is renamed
// once whole. Memory holds a write batch and a few network chunks at most (plus
// a segment's head while the media start is looked for), never a whole segment.
import { close, ftruncate, open } from 'node:fs';
import { rm, statfs } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { DebugLog } from '../types.js';
import { checkKey, createDecryptor, ivFor, KeyCache } from './aes.js';
import { KeyError, RequestFailure, SegmentError } from './errors.js';
import type { HttpClient } from './http-client.js';
import type { ByteRange, SegmentKey } from './media-playlist.js';
import type { ProgressMeter } from './progress-meter.js';
import { SegmentSink } from './segment-sink.js';
import type { FinishedFile, WorkDir } from './work-dir.js';

/** What to fetch and where it goes. */
export interface FetchTarget {
  /** File name in the work folder. */
  name: string;
  uri: string;
  /** `segment 7` or `the init segment`, for messages. */
  label: string;
  byterange?: ByteRange;
  key?: SegmentKey;
  /** Media sequence number: the IV when the key tag has none. */
  sequence: number;
}

/** Keys are small; anything past this is certainly not one. */
const KEY_READ_LIMIT = 4096;

/** What one segment may cost on disk. */
export interface FetchLimits {
  /** Largest segment body accepted, in bytes. @defaultValue 2 GiB */
  maxSegmentBytes?: number;
  /** Free space the disk must keep before a segment starts, in bytes. @defaultValue 16 MiB */
  minFreeBytes?: number;
}

const DEFAULT_MAX_SEGMENT_BYTES = 2 * 1024 ** 3;
const DEFAULT_MIN_FREE_BYTES = 16 * 1024 ** 2;
/** A free-space answer is reused this long: segments start by the dozen per second. */
const FREE_SPACE_TTL_MS = 200;

export class SegmentFetcher {
  readonly #client: HttpClient;
  readonly #work: WorkDir;
  readonly #meter: ProgressMeter;
  readonly #container: 'ts' | 'fmp4';
  readonly #debug: DebugLog | undefined;
  readonly #keys: KeyCache;
  /** Descriptors of fetched `.part` files that `commit` has yet to close. */
  readonly #openFiles = new Map<string, number>();
  readonly #maxBytes: number;
  readonly #minFree: number;
  #freeChecked?: { at: number; check: Promise<void> };

  constructor(client: HttpClient, work: WorkDir, meter: ProgressMeter, container: 'ts' | 'fmp4', debug?: DebugLog, limits: FetchLimits = {}) {
    this.#maxBytes = limits.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
    this.#minFree = limits.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    this.#client = client;
    this.#work = work;
    this.#meter = meter;
    this.#container = container;
    this.#debug = debug;
    this.#keys = new KeyCache((uri) => this.#fetchKey(uri));
  }

  /**
   * Downloads `target` to `<name>.part` and returns its size on disk; `commit` makes it
   * final. `onReceived` is called when the whole body has arrived, before the last bytes are on disk. Rejects with the client's RequestFailure (the caller knows whether a skip
   * rule covers it), KeyError, ProxyError, AbortError, or a file system error.
   */
  async fetch(target: FetchTarget, onReceived?: () => void): Promise<FinishedFile> {
    await this.#checkFreeSpace(target);
    const key = target.key ? await this.#keys.get(target.key.uri) : undefined;
    const part = this.#work.partPath(target.name);
    // The file opens while the request waits for its answer, so the open is not on the transfer's path.
    const opening = openFile(part);
    opening.catch(() => {});
    // Bytes this target has added to the meter; taken back when a try fails, so retries do not count twice.
    let counted = 0;
    const uncount = () => {
      this.#meter.bytes(-counted);
      counted = 0;
    };
    let tried = false;

    try {
      const file = await this.#client.get(target.uri, target.byterange ? { range: target.byterange } : {}, async (body, head) => {
        uncount();
        const declared = Number(head.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.#maxBytes) throw this.#tooLarge(target, `declares ${declared} bytes`);
        const fd = await opening;
        // A failed try may have left bytes behind; the sink writes from offset 0, the truncate drops any tail.
        if (tried) await truncateFile(fd);
        tried = true;
        const sink = new SegmentSink(fd, this.#container, this.#client.gate);
        // Kept here: got wraps what a destroy carries into an error it would retry.
        let overLimit: SegmentError | undefined;
        // A listener beside the pipe rather than a stream of its own: one hop less per chunk.
        // Attached in the same tick as the pipeline, so it sees every chunk.
        body.on('data', (chunk: Buffer) => {
          counted += chunk.length;
          this.#meter.bytes(chunk.length);
          // A body that never ends (or lies about its length) stops at the limit, not at a full disk.
          if (counted > this.#maxBytes && !overLimit) {
            overLimit = this.#tooLarge(target, `sent more than ${this.#maxBytes} bytes`);
            body.destroy(overLimit);
          }
        });
        if (onReceived) body.once('end', onReceived);
        try {
          if (key && target.key) {
            await pipeline(body, createDecryptor(key, ivFor(target.key, target.sequence)), sink);
          } else {
            await pipeline(body, sink);
          }
        } catch (error) {
          if (overLimit) throw overLimit;
          if (isDecryptError(error) && target.key) {
            throw new KeyError(
              `${target.label} (${target.uri}) did not decrypt with the key ${target.key.uri}: wrong key or IV`,
              target.key.uri,
              { cause: error },
            );
          }
          throw error;
        }
        if (sink.stripped > 0) this.#debug?.(`${target.label}: removed ${sink.stripped} bytes of disguise before the media start`);
        if (!sink.recognised) this.#debug?.(`${target.label}: no ${this.#container === 'ts' ? 'MPEG-TS sync' : 'MP4 box'} found; kept as received`);
        const finished: FinishedFile = { bytes: sink.bytesWritten };
        const lastModified = head.headers['last-modified'] ? new Date(head.headers['last-modified']) : undefined;
        if (lastModified && !Number.isNaN(lastModified.getTime())) finished.lastModified = lastModified;
        return finished;
      });
      // Closed by `commit`, after the download slot is free.
      this.#openFiles.set(target.name, await opening);
      return file;
    } catch (error) {
      uncount();
      await opening.then(closeFile, () => {});
      await rm(part, { force: true });
      throw error;
    }
  }

  #tooLarge(target: FetchTarget, what: string): SegmentError {
    const mib = Math.floor(this.#maxBytes / 1024 ** 2);
    return new SegmentError(`${target.label} (${cut(target.uri)}) ${what}, over the limit of ${mib} MiB per segment (max_segment_mb)`, target.uri, -1);
  }

  /** Fails before a segment starts when the disk is nearly full, so what is on disk stays whole. */
  #checkFreeSpace(target: FetchTarget): Promise<void> {
    const now = Date.now();
    if (!this.#freeChecked || now - this.#freeChecked.at > FREE_SPACE_TTL_MS) {
      const dir = this.#work.dir;
      const check = statfs(dir).then((stats) => {
        const free = Number(stats.bavail) * Number(stats.bsize);
        if (free < this.#minFree) {
          const mb = (bytes: number) => `${Math.floor(bytes / 1024 ** 2)} MiB`;
          throw new SegmentError(
            `the disk is full: ${mb(free)} free on the disk holding ${dir}, less than the ${mb(this.#minFree)} kept free (M3U8DM_MIN_FREE_MB); ` +
              'free some space and retry — finished segments are kept',
            target.uri,
            -1,
          );
        }
      });
      check.catch(() => {});
      this.#freeChecked = { at: now, check };
    }
    return this.#freeChecked.check;
  }

  /** Closes and renames the fetched `.part` to its final name. Kept apart from `fetch` so it need not hold a download slot. */
  async commit(target: FetchTarget, file: FinishedFile, extra?: Record<string, unknown>): Promise<void> {
    const fd = this.#openFiles.get(target.name);
    this.#openFiles.delete(target.name);
    try {
      if (fd !== undefined) await closeFile(fd);
      await this.#work.commit(target.name, file, extra);
    } catch (error) {
      await rm(this.#work.partPath(target.name), { force: true });
      throw error;
    }
  }

  async #fetchKey(uri: string): Promise<Buffer> {
    if (uri.startsWith('data:')) return checkKey(decodeDataUri(uri), uri);
    try {
      const body = await this.#client.get(uri, {}, async (stream) => {
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > KEY_READ_LIMIT) throw new KeyError(`the AES-128 key ${uri} is over ${KEY_READ_LIMIT} bytes, expected 16`, uri);
          chunks.push(chunk);
          await this.#client.gate?.(chunk.length);
        }
        return Buffer.concat(chunks, size);
      });
      return checkKey(body, uri);
    } catch (error) {
      if (error instanceof RequestFailure) {
        const message = error.status
          ? `the AES-128 key ${uri} ${error.message}`
          : `could not fetch the AES-128 key ${uri}: ${error.message}`;
        throw new KeyError(message, uri, { cause: error });
      }
      throw error;
    }
  }
}

function cut(uri: string): string {
  return uri.length > 200 ? `${uri.slice(0, 199)}…` : uri;
}

function isDecryptError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (typeof code === 'string' && code.startsWith('ERR_OSSL')) || /bad decrypt|final block length/i.test(String(error));
}

function decodeDataUri(uri: string): Buffer {
  const comma = uri.indexOf(',');
  const meta = uri.slice(5, comma);
  const data = uri.slice(comma + 1);
  return meta.endsWith(';base64') ? Buffer.from(data, 'base64') : Buffer.from(decodeURIComponent(data), 'latin1');
}

function openFile(file: string): Promise<number> {
  return new Promise((resolve, reject) => open(file, 'w', (error, fd) => (error ? reject(error) : resolve(fd))));
}

function closeFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())));
}

function truncateFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => ftruncate(fd, 0, (error) => (error ? reject(error) : resolve())));
}
