// Byte concatenation of segment files: into ffmpeg's stdin, into a run file
// for the concat demuxer, or straight into a `.ts` output. MPEG-TS is made to
// be joined this way, and so is an fMP4 init segment followed by its fragments.
//
// Thousands of small files are the normal case (1–6 s segments), so the cost
// per file matters as much as throughput: files that fit are read side by side
// into one chunk, which goes out as one write while the next chunk fills.
// Measured on 3,000 segments of ~2 KB: one read stream per file 0.7–1.2 s, a
// readFile per file with 16 read ahead 0.24–0.35 s, this 0.14–0.22 s (side by side).
//
// The chunks are a few reused 1 MB buffers, not a fresh Buffer per file: when the
// sink is slow (ffmpeg behind a following merge) data waits in them for tenths of a
// second, long enough for V8 to move fresh Buffers to the old generation, where only a
// full collection frees them. Reading every file into new memory made 78 MB of such
// garbage per 78 MB task; the reused chunks make none.
import { close, createWriteStream, open, read } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';

export interface SourceFile {
  path: string;
  /** Size in bytes when known: files of known size are read side by side; the others one after another, to their end. */
  bytes?: number;
}

/** What one write hands the sink, and how many such chunks may be on their way at once (memory stays bounded). */
const CHUNK_BYTES = 1 << 20;
const CHUNKS_IN_FLIGHT = 4;
/** Files of known size read side by side, at most. */
const PARALLEL_READS = 16;

/** Chunks the sink is done with, kept for the next feeder. */
const idleChunks: Buffer[] = [];
const IDLE_KEPT = CHUNKS_IN_FLIGHT;

function takeChunk(): Buffer {
  return idleChunks.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
}

function giveBack(chunk: Buffer): void {
  if (idleChunks.length < IDLE_KEPT) idleChunks.push(chunk);
}

function closedEarly(sink: Writable): Error {
  return sink.errored ?? Object.assign(new Error('The output closed early'), { code: 'ERR_STREAM_DESTROYED' });
}

/**
 * Feeds files, one after another, into a sink that is done with a chunk once its write callback has
 * run (a file, a socket, a pipe: not a PassThrough, which would keep it). Add files as often as they
 * come; each `add` hands what it read to the sink before it resolves, so a following merge's ffmpeg
 * has every landed segment at once. `end` waits until the sink has taken everything; it does not end
 * the sink.
 */
export class FileFeeder {
  readonly #sink: Writable;
  readonly #signal: AbortSignal;
  readonly #onBytes: ((bytes: number) => void) | undefined;
  #chunk: Buffer | undefined;
  #used = 0;
  #inFlight = 0;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(sink: Writable, signal: AbortSignal, onBytes?: (bytes: number) => void) {
    this.#sink = sink;
    this.#signal = signal;
    this.#onBytes = onBytes;
  }

  /** Reads `files` in order into the sink, honouring its pace. */
  async add(files: readonly SourceFile[]): Promise<void> {
    let next = 0;
    while (next < files.length) {
      this.#check();
      const chunk = (this.#chunk ??= takeChunk());
      const room = chunk.length - this.#used;
      const group: { path: string; bytes: number }[] = [];
      let groupBytes = 0;
      for (let file = files[next]; file?.bytes !== undefined && file.bytes <= room - groupBytes && group.length < PARALLEL_READS; file = files[next]) {
        group.push({ path: file.path, bytes: file.bytes });
        groupBytes += file.bytes;
        next++;
      }
      if (group.length > 0) {
        await this.#readSideBySide(chunk, group);
        continue;
      }
      const file = files[next] as SourceFile;
      if (file.bytes !== undefined && file.bytes <= chunk.length && this.#used > 0) {
        // Fits a fresh chunk whole: send this one first.
        await this.#send();
        continue;
      }
      await this.#readThrough(file);
      next++;
    }
    await this.#send();
  }

  /** Resolves once the sink has taken every chunk; rejects with the first write error. */
  async end(): Promise<void> {
    await this.#send();
    while (this.#inFlight > 0) await this.#nextWrite();
    this.#check();
    if (this.#chunk) giveBack(this.#chunk);
    this.#chunk = undefined;
  }

  /** Reads the group's files at once, each at its own place in the chunk after what is there. */
  async #readSideBySide(chunk: Buffer, group: readonly { path: string; bytes: number }[]): Promise<void> {
    let offset = this.#used;
    const places = group.map((file) => {
      const at = offset;
      offset += file.bytes;
      return at;
    });
    const got = await Promise.all(group.map((file, i) => readFileInto(file.path, chunk, places[i] as number, file.bytes, this.#signal)));
    // A file shorter than its recorded size (it should not be) leaves a gap: close it up.
    let end = this.#used;
    places.forEach((at, i) => {
      const length = got[i] as number;
      if (at !== end) chunk.copy(chunk, end, at, at + length);
      end += length;
    });
    this.#used = end;
  }

  /** Reads a file of unknown or large size to its end, a chunk at a time. */
  async #readThrough(file: SourceFile): Promise<void> {
    const fd = await openFile(file.path);
    try {
      let position = 0;
      for (;;) {
        this.#signal.throwIfAborted();
        if (file.bytes !== undefined && position >= file.bytes) break;
        const chunk = (this.#chunk ??= takeChunk());
        if (this.#used === chunk.length) {
          await this.#send();
          continue;
        }
        const want = Math.min(chunk.length - this.#used, file.bytes === undefined ? Infinity : file.bytes - position);
        const n = await readAt(fd, chunk, this.#used, want, position);
        if (n === 0) break;
        this.#used += n;
        position += n;
      }
    } finally {
      await closeFile(fd).catch(() => {});
    }
  }

  /** Hands the filled part of the chunk to the sink; waits while the most chunks allowed are on their way. */
  async #send(): Promise<void> {
    const chunk = this.#chunk;
    if (!chunk || this.#used === 0) return;
    this.#check();
    const bytes = this.#used;
    this.#chunk = undefined;
    this.#used = 0;
    this.#inFlight++;
    this.#sink.write(chunk.subarray(0, bytes), (error) => {
      this.#inFlight--;
      // After a failed write the chunk is simply dropped: the sink may not be done with it.
      if (error) this.#error ??= error;
      else giveBack(chunk);
      this.#wake?.();
    });
    this.#onBytes?.(bytes);
    while (this.#inFlight >= CHUNKS_IN_FLIGHT) await this.#nextWrite();
  }

  /** Resolves when a write finishes; rejects on abort or when the sink closes. */
  #nextWrite(): Promise<void> {
    this.#check();
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        this.#wake = undefined;
        this.#signal.removeEventListener('abort', onAbort);
        this.#sink.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => done(this.#signal.reason instanceof Error ? this.#signal.reason : new Error('aborted'));
      const onClose = () => done(this.#error ?? closedEarly(this.#sink));
      this.#wake = () => done();
      this.#signal.addEventListener('abort', onAbort, { once: true });
      this.#sink.once('close', onClose);
    });
  }

  #check(): void {
    this.#signal.throwIfAborted();
    if (this.#error) throw this.#error;
    if (this.#sink.destroyed) throw closedEarly(this.#sink);
  }
}

/** Writes the files one after another into `sink`, honouring backpressure; does not end `sink`. */
export async function writeFilesInto(
  files: readonly SourceFile[],
  sink: Writable,
  signal: AbortSignal,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  const feeder = new FileFeeder(sink, signal, onBytes);
  await feeder.add(files);
  await feeder.end();
}

/** Reads up to `length` bytes of the file at `path` into `buffer` at `offset`; resolves to the bytes read. */
async function readFileInto(path: string, buffer: Buffer, offset: number, length: number, signal: AbortSignal): Promise<number> {
  signal.throwIfAborted();
  const fd = await openFile(path);
  try {
    let done = 0;
    while (done < length) {
      const n = await readAt(fd, buffer, offset + done, length - done, done);
      if (n === 0) break;
      done += n;
    }
    return done;
  } finally {
    await closeFile(fd).catch(() => {});
  }
}

// The callback API: the promise one's FileHandle costs an object and a finalizer per file.
function openFile(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (error, fd) => (error ? reject(error) : resolve(fd))));
}

function readAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (error, n) => (error ? reject(error) : resolve(n))));
}

function closeFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())));
}

/** Writes the files, joined, to a new file at `dest` (overwriting a leftover of an earlier try). */
export async function concatFilesTo(
  files: readonly SourceFile[],
  dest: string,
  signal: AbortSignal,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  await writeFileBy(dest, (out) => writeFilesInto(files, out, signal, onBytes));
}

/**
 * Creates `dest` and lets `fill` write into it; the file is flushed and closed before this resolves,
 * and on any failure the stream is destroyed (its write error, if any, is what rejects).
 */
export async function writeFileBy(dest: string, fill: (out: Writable) => Promise<void>): Promise<void> {
  const out = createWriteStream(dest, { highWaterMark: CHUNK_BYTES });
  // A write error destroys the stream; the next write or `finished` reports it.
  out.on('error', () => {});
  try {
    await fill(out);
    out.end();
    await finished(out);
  } catch (error) {
    out.destroy();
    await finished(out).catch(() => {});
    throw error;
  }
}
