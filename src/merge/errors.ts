// The merge stage's errors. Each message is written to become a task's `err_msg` as
// is: what failed, then the end of what ffmpeg said about it. An aborted merge
// rejects with the project's one AbortError (defined with the downloader's errors,
// the first stage a signal stops), made here from the signal.
import { AbortError } from '../downloader/errors.js';

/** How much of ffmpeg's stderr tail goes into the message (the full tail stays on the error). */
const MESSAGE_TAIL_CHARS = 1000;

export interface MergeErrorOptions extends ErrorOptions {
  /** The last few KB of ffmpeg's stderr, when ffmpeg ran. */
  stderrTail?: string;
}

/** The merge could not write the output; `stderrTail` holds what ffmpeg said. */
export class MergeError extends Error {
  override name = 'MergeError';
  readonly code: string = 'ERR_MERGE';
  /** The last ~4 KB of ffmpeg's stderr ('' when ffmpeg did not run or said nothing). */
  readonly stderrTail: string;

  constructor(message: string, options: MergeErrorOptions = {}) {
    const { stderrTail, ...errorOptions } = options;
    const tail = (stderrTail ?? '').trim();
    super(tail ? `${message}: ${messageTail(tail)}` : message, errorOptions);
    this.stderrTail = tail;
  }
}

/** No ffmpeg could be found or run; the message lists what was tried. */
export class FfmpegNotFoundError extends MergeError {
  override name = 'FfmpegNotFoundError';
  override readonly code = 'ERR_FFMPEG_NOT_FOUND';
}

/** The last lines of a stderr tail that fit in a one-paragraph error message. */
function messageTail(tail: string): string {
  if (tail.length <= MESSAGE_TAIL_CHARS) return tail;
  const cut = tail.slice(-MESSAGE_TAIL_CHARS);
  const lineStart = cut.indexOf('\n');
  return `…${lineStart >= 0 && lineStart < cut.length - 1 ? cut.slice(lineStart + 1) : cut}`;
}

/** What a merge rejects with once `signal` aborted: its reason when that is an AbortError already, else one caused by it. */
export function abortError(signal: AbortSignal): AbortError {
  const reason: unknown = signal.reason;
  if (reason instanceof AbortError) return reason;
  return new AbortError('The merge was aborted', { cause: reason });
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}
