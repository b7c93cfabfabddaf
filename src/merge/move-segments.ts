// Moves a download's segment files (and its fMP4 init file) into a folder, for
// `no_merge_ts` and `keep_ts_files`. All or nothing: when one move fails, the
// ones already made are moved back, so the work folder is as it was and a
// retry finds every segment. A separate audio track goes into an `audio/`
// subfolder, named the same way.
import { copyFile, constants, mkdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

import type { AudioTrack, DownloadResult } from '../types.js';
import { abortError } from './errors.js';

export interface MovedSegments {
  /** Files now in the folder, in playback order (init first). */
  files: string[];
  /** Sum of their sizes in bytes. */
  bytes: number;
  /** Moves every file back where it came from. */
  undo(): Promise<void>;
}

/** Subfolder of the kept folder for a separate audio track. */
const AUDIO_DIR = 'audio';

/**
 * Moves the files into `dir` (which must exist), named by playlist position so a plain sort is
 * playback order: `init.mp4`, `0000.ts`, `0001.ts`… The original extension is kept. A separate
 * audio track's files go to `dir/audio/`, named the same way.
 */
export async function moveSegmentsInto(dir: string, download: DownloadResult, signal?: AbortSignal): Promise<MovedSegments> {
  const moves = plannedMoves(dir, download);
  // Further audio tracks (option `audio`: all or languages) go to audio1/, audio2/…
  const tracks = download.audioTracks ?? (download.audio ? [download.audio] : []);
  const audioDirs = tracks.map((_track, n) => path.join(dir, n === 0 ? AUDIO_DIR : `${AUDIO_DIR}${n}`));
  for (const [n, track] of tracks.entries()) moves.push(...plannedMoves(audioDirs[n] as string, track));
  const done: Array<{ from: string; to: string }> = [];
  const undo = async () => {
    for (let move = done.pop(); move; move = done.pop()) await moveFile(move.to, move.from);
    for (const audioDir of audioDirs) await rmdir(audioDir).catch(() => {});
  };
  let bytes = 0;
  try {
    for (const audioDir of audioDirs) await mkdir(audioDir, { recursive: true });
    for (const move of moves) {
      if (signal?.aborted) throw abortError(signal);
      await moveFile(move.from, move.to);
      done.push(move);
      bytes += (await stat(move.to)).size;
    }
  } catch (error) {
    await undo();
    throw error;
  }
  return { files: done.map((move) => move.to), bytes, undo };
}

function plannedMoves(dir: string, download: Pick<AudioTrack, 'container' | 'initFile' | 'initFiles' | 'segments'>): Array<{ from: string; to: string }> {
  const moves: Array<{ from: string; to: string }> = [];
  // Several init sections keep their work-folder names (init.mp4, init1.mp4…), which say which came first.
  const inits = download.initFiles ?? (download.initFile ? [download.initFile] : []);
  for (const [n, init] of inits.entries()) moves.push({ from: init, to: path.join(dir, `init${n === 0 ? '' : n}${path.extname(init) || '.mp4'}`) });
  const lastIndex = download.segments.reduce((max, segment) => Math.max(max, segment.index), 0);
  const width = Math.max(4, String(lastIndex).length);
  const fallbackExt = download.container === 'fmp4' ? '.m4s' : '.ts';
  for (const segment of download.segments) {
    const name = `${String(segment.index).padStart(width, '0')}${path.extname(segment.file) || fallbackExt}`;
    moves.push({ from: segment.file, to: path.join(dir, name) });
  }
  return moves;
}

/** rename, or copy + unlink when the folders are on different file systems. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to, constants.COPYFILE_EXCL);
    await unlink(from);
  }
}
