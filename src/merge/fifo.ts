// Named pipes as ffmpeg's inputs, for the stream alone or its runs one after another.
//
// Through stdin the bytes go out on the event loop: each turn of the loop refills the
// socket pair once (~200 KB), and while 16 segment bodies come in, a turn handles about
// 1 MB of them. A following merge's ffmpeg then got a third of the stream as it arrived
// and remuxed the rest after the last segment (asleep 75–90% of the download, measured).
// A write to a FIFO is a blocking write on a thread-pool thread instead: it goes on as
// fast as ffmpeg reads, whatever the loop is doing. So a FIFO is fed only when nothing
// else is: a pool thread waiting on ffmpeg while ffmpeg waits on another input that
// needs the pool could stall every download. Linux and macOS have mkfifo; where it
// fails, the caller keeps stdin and pipes.
import { execFile } from 'node:child_process';
import { close, constants, createWriteStream, open, type WriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';

/** Creates FIFOs named `names` in `dir` (private to the user); resolves to their paths, or undefined where there are none. */
export function makeFifos(dir: string, names: readonly string[]): Promise<string[] | undefined> {
  const files = names.map((name) => path.join(dir, name));
  return new Promise((resolve) => {
    execFile('mkfifo', ['-m', '600', '--', ...files], { timeout: 5_000 }, (error) => resolve(error ? undefined : files));
  });
}

/**
 * Opens `fifo` for writing, lets `feed` write into it, then ends it and waits until ffmpeg has read
 * the last byte. The open waits for ffmpeg to open its end; when ffmpeg exits first (`gone` resolves),
 * the open is released by opening the read end briefly, so no thread-pool thread stays blocked.
 */
export async function feedFifo(
  fifo: string,
  gone: Promise<unknown>,
  feed: (sink: Writable) => Promise<void>,
): Promise<void> {
  const out = createWriteStream(fifo, { highWaterMark: 1 << 20 });
  // A write error (EPIPE: ffmpeg went away) destroys the stream; `feed` or `finished` reports it.
  out.on('error', () => {});
  let opened = false;
  await Promise.race([
    new Promise<void>((resolve, reject) => {
      out.once('ready', () => {
        opened = true;
        resolve();
      });
      out.once('error', reject);
    }),
    gone.then(() => {
      if (!opened) releaseOpen(fifo, out);
      throw Object.assign(new Error('ffmpeg exited before it opened its input'), { code: 'EPIPE' });
    }),
  ]);
  try {
    await feed(out);
    out.end();
    await finished(out);
  } catch (error) {
    out.destroy();
    throw error;
  }
}

/** The writer's open blocks until a reader comes: be that reader for a moment, then drop the stream. */
function releaseOpen(fifo: string, out: WriteStream): void {
  open(fifo, constants.O_RDONLY | constants.O_NONBLOCK, (error, fd) => {
    out.once('ready', () => out.destroy());
    if (!error) close(fd, () => {});
  });
}
