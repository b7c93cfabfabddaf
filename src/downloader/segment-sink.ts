// The end of a segment's pipeline: strips a disguise from the front (see
// segment-cleaner.ts) and writes straight to an open file descriptor. One
// stream instead of a Transform plus an fs.WriteStream: a chunk costs one hop,
// and chunks that gather while a write is in flight go out as one writev.
import { write, writev } from 'node:fs';
import { Writable } from 'node:stream';
import type { ByteGate } from './rate-limit.js';
import { findMp4Start, findTsStart, type Finder } from './segment-cleaner.js';

/**
 * Chunks gather up to this much before a write: each write is a trip to libuv's thread pool,
 * which on a busy machine costs more than the copy itself. Network chunks are 16–64 KB.
 */
const WRITE_BATCH = 128 * 1024;

type Callback = (error?: Error | null) => void;

export class SegmentSink extends Writable {
  /** Bytes dropped from the front; 0 when the segment was clean. */
  stripped = 0;
  /** False when no media start was found and the bytes went through untouched. */
  recognised = true;
  /** Bytes written to the file so far. */
  bytesWritten = 0;
  readonly #fd: number;
  readonly #find: Finder;
  #head: Buffer[] = [];
  #headLength = 0;
  #decided = false;
  /** Chunks held back until they make a full batch. */
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** True while a write is with the thread pool. */
  #writing = false;
  /** A destroy waiting for that write, so nothing lands in the file once the stream is closed. */
  #afterWrite: (() => void) | undefined;
  readonly #gate: ByteGate | undefined;

  /**
   * Writes from offset 0 of `fd`, which the caller opened and closes. With a `gate` (the speed
   * limit), each chunk waits for it before the next is taken; the wait holds the body back
   * through the pipe's backpressure, down to the socket.
   */
  constructor(fd: number, container: 'ts' | 'fmp4', gate?: ByteGate) {
    // While a batch is being written, up to 64 KB more queue before the body is paused.
    super({ highWaterMark: 64 * 1024, decodeStrings: true });
    this.#fd = fd;
    this.#find = container === 'ts' ? findTsStart : findMp4Start;
    this.#gate = gate;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    this.#take(chunk);
    this.#pace(chunk.length, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: Callback): void {
    let bytes = 0;
    for (const { chunk } of chunks) {
      this.#take(chunk);
      bytes += chunk.length;
    }
    this.#pace(bytes, callback);
  }

  /** Flushes now, or once the speed limit lets the next chunk in (not at all if destroyed meanwhile: the fd may be closed). */
  #pace(bytes: number, callback: Callback): void {
    const wait = this.#gate?.(bytes);
    if (!wait) {
      this.#flush(false, callback);
      return;
    }
    wait.then(() => (this.destroyed ? callback() : this.#flush(false, callback)), callback);
  }

  override _final(callback: Callback): void {
    if (!this.#decided) this.#hold(this.#decide(true));
    this.#flush(true, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#writing) {
      callback(error);
      return;
    }
    this.#afterWrite = () => callback(error);
  }

  #take(chunk: Buffer): void {
    if (this.#decided) {
      this.#pending.push(chunk);
      this.#pendingLength += chunk.length;
      return;
    }
    this.#head.push(chunk);
    this.#headLength += chunk.length;
    this.#hold(this.#decide(false));
  }

  #hold(buffers: Buffer[]): void {
    for (const buffer of buffers) {
      this.#pending.push(buffer);
      this.#pendingLength += buffer.length;
    }
  }

  /** Writes what is held once it makes a batch (or at the end); until then takes the next chunk at once. */
  #flush(final: boolean, callback: Callback): void {
    if (!final && this.#pendingLength < WRITE_BATCH) {
      callback();
      return;
    }
    const buffers = this.#pending;
    this.#pending = [];
    this.#pendingLength = 0;
    this.#writeAll(buffers, callback);
  }

  /** What the head lets through once the media start is known; nothing while undecided. */
  #decide(final: boolean): Buffer[] {
    const head = this.#head.length === 1 ? (this.#head[0] as Buffer) : Buffer.concat(this.#head, this.#headLength);
    this.#head = [head];
    const found = this.#find(head, final);
    if (found === 'more') return [];
    this.#decided = true;
    this.#head = [];
    this.#headLength = 0;
    if (found === 'none') {
      this.recognised = head.length === 0;
      return head.length > 0 ? [head] : [];
    }
    this.stripped = found;
    if (found >= head.length) return [];
    return [found === 0 ? head : head.subarray(found)];
  }

  /** Writes every byte of `buffers` at the current end, retrying short writes. */
  #writeAll(buffers: Buffer[], callback: Callback): void {
    if (buffers.length > 0 && buffers.some((b) => b.length === 0)) buffers = buffers.filter((b) => b.length > 0);
    if (buffers.length === 0) {
      callback();
      return;
    }
    this.#writing = true;
    const done = (error: Error | null, written: number): void => {
      this.#writing = false;
      const afterWrite = this.#afterWrite;
      if (afterWrite) {
        // Destroyed meanwhile: what is left is not written.
        this.#afterWrite = undefined;
        afterWrite();
        return;
      }
      if (error) {
        callback(error);
        return;
      }
      this.bytesWritten += written;
      let rest = written;
      while (rest > 0 && buffers.length > 0) {
        const first = buffers[0] as Buffer;
        if (first.length <= rest) {
          rest -= first.length;
          buffers.shift();
        } else {
          buffers[0] = first.subarray(rest);
          rest = 0;
        }
      }
      this.#writeAll(buffers, callback);
    };
    if (buffers.length === 1) {
      const only = buffers[0] as Buffer;
      write(this.#fd, only, 0, only.length, this.bytesWritten, done);
    } else {
      writev(this.#fd, buffers, this.bytesWritten, done);
    }
  }
}
