// The byte joiner under the merges: output equal to the files back to back whatever
// their sizes, chunks reused only once the sink is done with them, memory bounded
// against a stalled sink, and a clear end on abort, a closed sink or a missing file.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { concatFilesTo, FileFeeder, writeFilesInto, type SourceFile } from '../src/merge/concat-files.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'm3u8dm-concat-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function makeFiles(sizes: number[], prefix: string): Promise<{ files: SourceFile[]; joined: Buffer }> {
  const parts = sizes.map((size) => randomBytes(size));
  const files = await Promise.all(parts.map(async (data, i) => {
    const file = path.join(dir, `${prefix}-${i}.bin`);
    await writeFile(file, data);
    return { path: file, bytes: data.length };
  }));
  return { files, joined: Buffer.concat(parts) };
}

/**
 * A sink that looks at each chunk only when it calls back, a few ms after taking it: if the
 * feeder refilled a chunk before the callback, what it records is not what was sent.
 */
class LateSink extends Writable {
  readonly received: Buffer[] = [];
  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    setTimeout(() => {
      this.received.push(Buffer.from(chunk));
      callback();
    }, 3);
  }
}

describe('writeFilesInto', () => {
  it('writes small, empty, size-unknown and multi-chunk files back to back', async () => {
    const sizes = [...Array.from({ length: 300 }, (_, i) => 1_000 + ((i * 7_919) % 6_000)), 0, 3 * 1024 * 1024 + 17, 188, 700_000, 1024 * 1024, 5];
    const { files, joined } = await makeFiles(sizes, 'mixed');
    // The size is not always known (an init section): those are read to their end.
    const sources = files.map((file, i) => (i % 50 === 3 || i === 301 ? { path: file.path } : file));
    const sink = new LateSink();
    let counted = 0;
    await writeFilesInto(sources, sink, new AbortController().signal, (bytes) => (counted += bytes));
    expect(Buffer.concat(sink.received).equals(joined)).toBe(true);
    expect(counted).toBe(joined.length);
  });

  it('joins into a file', async () => {
    const { files, joined } = await makeFiles([5_000, 2 * 1024 * 1024, 10], 'tofile');
    const dest = path.join(dir, 'joined.bin');
    await concatFilesTo(files, dest, new AbortController().signal);
    expect((await readFile(dest)).equals(joined)).toBe(true);
  });

  it('closes up a file shorter than its recorded size', async () => {
    const { files } = await makeFiles([4_000, 4_000, 4_000], 'short');
    const shortened = randomBytes(1_000);
    await writeFile(files[1]?.path as string, shortened);
    const sink = new LateSink();
    await writeFilesInto(files, sink, new AbortController().signal);
    const expected = Buffer.concat([await readFile(files[0]?.path as string), shortened, await readFile(files[2]?.path as string)]);
    expect(Buffer.concat(sink.received).equals(expected)).toBe(true);
  });

  it('holds at most a few chunks for a sink that stops taking them, and ends on abort', async () => {
    const { files } = await makeFiles(Array.from({ length: 40 }, () => 400_000), 'stall');
    let taken = 0;
    const stalled = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, _callback) {
        taken += chunk.length; // never calls back
      },
    });
    const controller = new AbortController();
    const feeding = writeFilesInto(files, stalled, controller.signal);
    feeding.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The sink takes one write at a time; the rest wait in its buffer, bounded by the feeder.
    expect(stalled.writableLength).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(taken).toBeGreaterThan(0);
    controller.abort();
    await expect(feeding).rejects.toMatchObject({ name: 'AbortError' });
    stalled.destroy();
  });

  it('rejects when the sink closes while it waits, and on a missing file', async () => {
    const { files } = await makeFiles(Array.from({ length: 20 }, () => 400_000), 'closed');
    const stalled = new Writable({ highWaterMark: 16 * 1024, write() {} });
    stalled.on('error', () => {});
    const feeding = writeFilesInto(files, stalled, new AbortController().signal);
    feeding.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    stalled.destroy(new Error('ffmpeg went away'));
    await expect(feeding).rejects.toThrow(/ffmpeg went away/);

    const missing = [...files.slice(0, 2), { path: path.join(dir, 'nope.bin'), bytes: 10 }];
    await expect(writeFilesInto(missing, new LateSink(), new AbortController().signal)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('FileFeeder', () => {
  it('hands each add to the sink before it resolves, and keeps the order across adds', async () => {
    const { files, joined } = await makeFiles(Array.from({ length: 30 }, (_, i) => 50_000 + i * 1_000), 'adds');
    let handed = 0;
    const sink = new LateSink();
    const feeder = new FileFeeder(sink, new AbortController().signal, (bytes) => (handed += bytes));
    let expected = 0;
    for (let i = 0; i < files.length; i += 7) {
      const batch = files.slice(i, i + 7);
      await feeder.add(batch);
      expected += batch.reduce((sum, file) => sum + (file.bytes ?? 0), 0);
      expect(handed).toBe(expected);
    }
    await feeder.end();
    expect(Buffer.concat(sink.received).equals(joined)).toBe(true);
  });
});
