// Which streams a media file holds, asked of ffmpeg itself (there may be no
// ffprobe beside it: the npm-bundled build ships none).
import { execFile } from 'node:child_process';

export interface ProbedStream {
  /** Stream index inside the file. */
  index: number;
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment';
  /** ffmpeg's codec name: `h264`, `aac`, `mp3`, `timed_id3`… */
  codec: string;
}

const PROBE_TIMEOUT_MS = 30_000;

/** The streams ffmpeg lists for `file`; empty when it cannot read the file (the merge then reports the real error). */
export async function probeStreams(ffmpegPath: string, file: string, signal?: AbortSignal): Promise<ProbedStream[]> {
  return parseStreamLines(await describeInput(ffmpegPath, file, signal));
}

/** The input's first timestamp in seconds (`start:` of ffmpeg's description), or undefined when unreadable. */
export async function probeStartSeconds(ffmpegPath: string, file: string, signal?: AbortSignal): Promise<number | undefined> {
  const match = /^\s*Duration: .*?, start: (-?\d+(?:\.\d+)?)/m.exec(await describeInput(ffmpegPath, file, signal));
  return match ? Number(match[1]) : undefined;
}

function describeInput(ffmpegPath: string, file: string, signal?: AbortSignal): Promise<string> {
  // ffmpeg without an output prints the input's description and exits 1; that is the answer, not a failure.
  return new Promise<string>((resolve) => {
    execFile(
      ffmpegPath,
      ['-hide_banner', '-nostdin', '-i', file],
      { timeout: PROBE_TIMEOUT_MS, windowsHide: true, maxBuffer: 4 << 20, signal },
      (_error, _stdout, stderrText) => resolve(String(stderrText)),
    );
  });
}

export function parseStreamLines(text: string): ProbedStream[] {
  const streams: ProbedStream[] = [];
  const pattern = /^\s*Stream #\d+:(\d+)\S*: (Video|Audio|Subtitle|Data|Attachment): ([^\s,]+)/gm;
  for (const match of text.matchAll(pattern)) {
    const [, index, type, codec] = match;
    if (index === undefined || type === undefined || codec === undefined) continue;
    streams.push({ index: Number(index), type: type.toLowerCase() as ProbedStream['type'], codec });
  }
  return streams;
}
