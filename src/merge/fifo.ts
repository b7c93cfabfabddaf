// Named pipes as ffmpeg's inputs, for the stream alone or its runs one after another.
//
// Through stdin the bytes go out on the event loop: each turn of the loop refills the
// socket pair once (~200 KB), and while 16 segment bodies come in, a turn handles about
// 1 MB of them. A following merge's ffmpeg then got a third of the stream as it arrived
// and remuxed the rest after the last segment (asleep 75–90% of the download, measured).
// A write to a FIFO is a blocking write on a thread-pool thread instead: it goes on as
// fast as ffmpeg reads, whatever the loop is doing. Such a write can wait on ffmpeg, and
// ffmpeg on another input (separate audio, which stays on a pipe and needs the pool to
// read its files), so FIFO opens and writes share a few slots (half the pool): the
// other threads are always free. Linux and macOS have mkfifo; where it fails, the
// caller keeps stdin and pipes.
import { execFile } from 'node:child_process';
import { close, constants, open, writev } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { Writable } from 'node:stream';

/**
 * Pool threads FIFO opens and writes may hold at once, all FIFOs together. The rest of the pool stays
 * free for the downloads and for the reads an ffmpeg waiting on another input needs (its audio, through
 * a pipe): a write blocked on one ffmpeg never holds up another task's. No FIFOs with a pool this small.
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

/** Creates FIFOs named `names` in `dir` (private to the user); resolves to their paths, or undefined where there are none. */
export function makeFifos(dir: string, names: readonly string[]): Promise<string[] | undefined> {
  if (SLOTS === 0) return Promise.resolve(undefined);
  const files = names.map((name) => path.join(dir, name));
  return new Promise((resolve) => {
    execFile('mkfifo', ['-m', '600', '--', ...files], { timeout: 5_000 }, (error) => resolve(error ? undefined : files));
  });
}

/**
 * Opens `fifo` for writing, lets `feed` write into it, then ends it. The open waits for ffmpeg to
 * open its end; when ffmpeg exits first (`gone` resolves), it rejects with EPIPE and no pool thread
 * stays blocked.
 */
export async function feedFifo(fifo: string, gone: Promise<unknown>, feed: (sink: Writable) => Promise<void>): Promise<void> {
  const sink = new FifoSink(await openForWriting(fifo, gone));
  // A write error (EPIPE: ffmpeg went away) destroys the sink; `feed` or `finished` reports it.
  sink.on('error', () => {});
  try {
    await feed(sink);
    sink.end();
    await finished(sink);
  } catch (error) {
    sink.destroy();
    await finished(sink).catch(() => {});
    throw error;
  }
}

/**
 * The blocking open of the write end, on a pool thread in a slot. If ffmpeg exits while it waits,
 * opening the read end (without blocking) releases it; that reader is held until the writer's open
 * has returned, whichever comes first, then both are closed.
 */
function openForWriting(fifo: string, gone: Promise<unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    let state: 'waiting' | 'opening' | 'open' | 'gone' = 'waiting';
    let writerBack = false;
    let reader: number | undefined;
    const tidy = () => {
      if (!writerBack || reader === undefined) return;
      close(reader, () => {});
      reader = undefined;
    };
    void inSlot(() => new Promise<void>((done) => {
      if (state === 'gone') {
        done();
        return;
      }
      state = 'opening';
      open(fifo, constants.O_WRONLY, (error, fd) => {
        done();
        writerBack = true;
        if (state === 'gone') {
          if (!error) close(fd, () => {});
          tidy();
        } else if (error) {
          state = 'gone';
          reject(error);
        } else {
          state = 'open';
          resolve(fd);
        }
      });
    }));
    void gone.then(() => {
      if (state === 'open' || state === 'gone') return;
      const opening = state === 'opening';
      state = 'gone';
      reject(Object.assign(new Error('ffmpeg exited before it opened its input'), { code: 'EPIPE' }));
      if (opening) {
        open(fifo, constants.O_RDONLY | constants.O_NONBLOCK, (error, fd) => {
          if (error) return;
          reader = fd;
          tidy();
        });
      }
    });
  });
}

/**
 * The write end: each write a blocking write on a pool thread, in a slot. The descriptor is closed
 * only once no write is on its way (a close under a pending write could hit a reused descriptor).
 */
class FifoSink extends Writable {
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
