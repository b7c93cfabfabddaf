// Errors of the merge stage. Each message is written to become a task's
// `err_msg` as is: what failed, then the end of what ffmpeg said about it.

/** How much of ffmpeg's stderr tail goes into the message (the full tail stays on the error). */
const MESSAGE_TAIL_CHARS = 1000;

export interface MergeErrorOptions {
  /** The last few KB of ffmpeg's stderr, when ffmpeg ran. */
  stderrTail?: string;
  cause?: unknown;
}

export class MergeError extends Error {
  override name = 'MergeError';
  code: string = 'ERR_MERGE';
  /** The last ~4 KB of ffmpeg's stderr ('' when ffmpeg did not run or said nothing). */
  readonly stderrTail: string;

  constructor(message: string, options: MergeErrorOptions = {}) {
    const tail = (options.stderrTail ?? '').trim();
    super(tail ? `${message}: ${messageTail(tail)}` : message, { cause: options.cause });
    this.stderrTail = tail;
  }
}

/** No ffmpeg could be found or run; the message lists what was tried. */
export class FfmpegNotFoundError extends MergeError {
  override name = 'FfmpegNotFoundError';
  override code = 'ERR_FFMPEG_NOT_FOUND';
}

/** The last lines of a stderr tail that fit in a one-paragraph error message. */
function messageTail(tail: string): string {
  if (tail.length <= MESSAGE_TAIL_CHARS) return tail;
  const cut = tail.slice(-MESSAGE_TAIL_CHARS);
  const lineStart = cut.indexOf('\n');
  return `…${lineStart >= 0 && lineStart < cut.length - 1 ? cut.slice(lineStart + 1) : cut}`;
}
