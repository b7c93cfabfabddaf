// FIFOs in place of ffmpeg's stdin and input pipes, for a merge that follows the download.
//
// Through a socket pair (what Node gives a child) the bytes go out on the event loop:
// each turn of the loop refills it once (~200 KB), and while 16 segment bodies come in,
// a turn handles about 1 MB of them. A following merge's ffmpeg then got a third of the
// stream as it arrived and remuxed the rest after the last segment (asleep 75–90% of the
// download, measured). A FIFO's write end takes blocking writes on a thread-pool thread
// instead: they go on as fast as ffmpeg reads, whatever the loop is doing.
//
// Both ends are opened here before ffmpeg starts (the read end first without waiting, so
// no open ever blocks), the read end is handed to ffmpeg as its stdin or `pipe:N` and
// closed here, and the name is unlinked at once: to ffmpeg it is a pipe like any other,
// and if this process dies its write end closes and ffmpeg sees the end of its input.
// A write can wait on ffmpeg, and ffmpeg on another input (separate audio, which stays on
// a socket pair and needs the pool to read its files), so all FIFO writes share a few
// slots (half the pool): the other threads are always free. Where mkfifo fails, the
// socket pairs as before.
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { close, constants, open, unlink, writev } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';

/**
 * Pool threads FIFO writes may hold at once, all FIFOs together. The rest of the pool stays free for
 * the downloads and for the reads an ffmpeg waiting on another input needs: a write blocked on one
 * ffmpeg never holds up another task's. No FIFOs with a pool this small.
 */
const POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE) || 4;
const SLOTS = Math.max(0, Math.floor(POOL_SIZE / 2));
let freeSlots = SLOTS;
const waitingForSlot: (() => void)[] = [];

async function inSlot<T>(work: () => Promise<T>): Promise<T> {
  if (freeSlots > 0) freeSlots--;
  else await new Promise<void>((resolve) => waitingForSlot.push(resolve));
  try {
    return await work();
  } finally {
    const next = waitingForSlot.shift();
    if (next) next();
    else freeSlots++;
  }
}

export interface FifoEnds {
  /** For ffmpeg (stdio); the caller closes its own copy once ffmpeg has started. */
  read: number;
  /** The blocking write end, for a FifoSink. */
  write: number;
}

/** `count` FIFOs made in `dir`, opened at both ends and unlinked; undefined where there are none. */
export async function openFifos(dir: string, count: number): Promise<FifoEnds[] | undefined> {
  if (SLOTS === 0 || count === 0) return undefined;
  const stem = `.m3u8dm-${randomBytes(4).toString('hex')}`;
  const files = Array.from({ length: count }, (_, i) => path.join(dir, `${stem}-${i}.fifo`));
  const made = await new Promise<boolean>((resolve) => {
    execFile('mkfifo', ['-m', '600', '--', ...files], { timeout: 5_000 }, (error) => resolve(!error));
  });
  if (!made) {
    await Promise.all(files.map((file) => removeName(file)));
    return undefined;
  }
  const opened: number[] = [];
  const ends: FifoEnds[] = [];
  try {
    for (const file of files) {
      // The read end without waiting first; then both blocking ends open at once (each has its peer).
      const probe = await openFd(file, constants.O_RDONLY | constants.O_NONBLOCK, opened);
      const write = await openFd(file, constants.O_WRONLY, opened);
      const read = await openFd(file, constants.O_RDONLY, opened);
      opened.splice(opened.indexOf(probe), 1);
      closeQuietly(probe);
      ends.push({ read, write });
    }
    return ends;
  } catch {
    for (const fd of opened) closeQuietly(fd);
    return undefined;
  } finally {
    await Promise.all(files.map((file) => removeName(file)));
  }
}

/** Closes a descriptor, ignoring errors (a read end handed on, a write end no longer needed). */
export function closeQuietly(fd: number): void {
  close(fd, () => {});
}

function openFd(file: string, flags: number, opened: number[]): Promise<number> {
  return new Promise((resolve, reject) => open(file, flags, (error, fd) => {
    if (error) return reject(error);
    opened.push(fd);
    resolve(fd);
  }));
}

function removeName(file: string): Promise<void> {
  return new Promise((resolve) => unlink(file, () => resolve()));
}

/**
 * A FIFO's write end: each write a blocking write on a pool thread, in a slot. The descriptor is
 * closed (ffmpeg then sees the input end) on end or destroy, once no write is on its way: a close
 * under a pending write could hit a reused descriptor.
 */
export class FifoSink extends Writable {
  readonly #fd: number;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(fd: number) {
    super({ highWaterMark: 1 << 20 });
    this.#fd = fd;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#write([chunk], callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.#write(chunks.map((c) => c.chunk), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#close(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#close(() => callback(error));
  }

  #write(buffers: Buffer[], callback: (error?: Error | null) => void): void {
    this.#writing = inSlot(() => writeAll(this.#fd, buffers)).then(() => callback(), (error: Error) => callback(error));
  }

  #close(callback: (error?: Error | null) => void): void {
    void this.#writing.then(() => {
      if (this.#closed) return callback();
      this.#closed = true;
      close(this.#fd, (error) => callback(error));
    });
  }
}

/** Writes every byte of `buffers` (a blocking write may still stop short on a signal). */
async function writeAll(fd: number, buffers: Buffer[]): Promise<void> {
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    const written = await new Promise<number>((resolve, reject) => writev(fd, rest, (error, n) => (error ? reject(error) : resolve(n))));
    let skip = written;
    const left: Buffer[] = [];
    for (const buffer of rest) {
      if (skip >= buffer.length) skip -= buffer.length;
      else {
        left.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    rest = left;
  }
}
