// The poster frame of a finished download: one JPEG, about 320 px wide, taken by ffmpeg
// from the merged file, for the page's row thumbnail. It lives in the service's data
// folder (not beside the user's file) and is optional: a stream without video, or any
// ffmpeg trouble, just means no poster.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { locateFfmpeg } from './ffmpeg-locate.js';
import { runFfmpeg } from './run-ffmpeg.js';

export interface PosterInput {
  /** The merged MP4/MKV/TS. */
  video: string;
  /** Where the JPEG goes (its folder is created). */
  output: string;
  /** Seconds of media: the frame is taken a little way in, not the (often black) first one. */
  durationSeconds: number;
  signal?: AbortSignal;
  /** The ffmpeg the user chose (M3U8DM_FFMPEG), as for mergeSegments. @defaultValue `ffmpeg` on PATH, else the npm-bundled one */
  ffmpeg?: string | undefined;
}

/** Writes the poster and returns its path, or undefined when none could be made. */
export async function makePoster(input: PosterInput): Promise<string | undefined> {
  const at = Math.max(0, Math.min(input.durationSeconds * 0.1, 5));
  const part = `${input.output}.part.jpg`;
  try {
    await mkdir(path.dirname(input.output), { recursive: true });
    const ffmpegPath = (await locateFfmpeg(input.ffmpeg)).path;
    await runFfmpeg({
      ffmpegPath,
      // -ss before -i seeks by keyframe: fast, whatever the file's length.
      args: ['-ss', at.toFixed(2), '-i', input.video, '-map', '0:v:0', '-frames:v', '1', '-vf', 'scale=320:-2', '-q:v', '4', '-f', 'image2', '-y', part],
      signal: input.signal,
    });
    if (!(await stat(part)).size) throw new Error('empty poster');
    await rename(part, input.output);
    return input.output;
  } catch {
    await rm(part, { force: true });
    return undefined;
  }
}
