// Discontinuity runs through pipes: the concat demuxer reads each run from a
// pipe of its own (`pipe:3`, `pipe:4`, …) instead of a joined run file, so the
// merge writes no copy of the segments first, and a merge that follows the
// download can feed run after run as the segments land. ffmpeg opens the next
// run only when the one before it ends, so one run is fed at a time.
//
// Both the merge and its follower go this way, with the same list and
// arguments, so they write the same file. From a pipe the demuxer cannot
// look at a run's end before reading it, so the next run starts where the
// last packet of this one ends (audio runs on without a gap or overlap; the
// last video frame of a run may be held up to one frame longer than from a
// file, whose length ffmpeg estimates from the video's end).
//
// Only where that holds: MPEG-TS runs (fMP4 read from a pipe loses a run
// whose init section changes) and ffmpeg 5 or newer (older builds guess a
// piped run's length from its bit rate: a 2018 static build put seconds of
// gap at each discontinuity), and only for the main track alone (a separate
// audio track is cut against the run lengths the file route gives).
// Otherwise, and beyond MAX_PIPED_RUNS (a stream cut at every segment), the
// merge joins run files as before, and the follower does not follow.

import { INPUT_QUEUE } from './run-ffmpeg.js';

/** Runs put through pipes at most: each holds a pipe open in both processes for the whole remux. */
export const MAX_PIPED_RUNS = 32;

/** The first file descriptor of the run pipes in ffmpeg (0–2 are stdin, progress, stderr). */
const FIRST_FD = 3;

/** The list's name in the folder ffmpeg runs in. */
export const PIPED_LIST = 'runs.ffconcat';

/**
 * Whether `runs` runs of `container` segments go through pipes with ffmpeg `version` (as `ffmpeg -version`
 * prints it). Not on Windows, whose ffmpeg cannot read an inherited descriptor.
 */
export function pipesRuns(runs: number, container: 'ts' | 'fmp4', version: string): boolean {
  const major = Number(/^n?(\d+)\./.exec(version)?.[1] ?? 0);
  return runs > 1 && runs <= MAX_PIPED_RUNS && container === 'ts' && major >= 5 && process.platform !== 'win32';
}

/** The concat list: one `pipe:N` per run, nothing a path could inject. */
export function pipedRunsList(runs: number): string {
  return ['ffconcat version 1.0', ...Array.from({ length: runs }, (_r, i) => `file 'pipe:${FIRST_FD + i}'`), ''].join('\n');
}

/**
 * ffmpeg's input arguments for the list (by its plain name, from the folder it is in). `-safe 0` only
 * because `pipe:` is a protocol; the list is ours and names pipes alone, and the whitelist allows no other.
 */
export function pipedRunsInput(): string[] {
  return [...INPUT_QUEUE, '-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file,pipe', '-i', PIPED_LIST];
}
