// What a media file really holds, asked of the system ffprobe: duration,
// container, streams. Tests judge merge output by this, never by file size.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'vitest';

import type { OutputFormat } from '../../src/types.js';

const run = promisify(execFile);

export interface ProbedMedia {
  /** Seconds, from the container. */
  duration: number;
  /** ffprobe's format_name: `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `mpegts`. */
  formatName: string;
  /** The MP4 `major_brand` tag, when there is one (`isom` for `-f mp4`). */
  majorBrand?: string;
  streams: ProbedStream[];
}

export interface ProbedStream {
  type: string;
  codec: string;
  duration?: number;
  /** Seconds, the stream's first timestamp. */
  startTime?: number;
  /** The `language` tag (`eng`, `fre`… in MP4 and MKV). */
  language?: string;
  /** The `title` (MKV) or `handler_name` tag. */
  title?: string;
  /** The default disposition flag. */
  isDefault?: boolean;
}

interface FfprobeJson {
  format?: { duration?: string; format_name?: string; tags?: Record<string, string> };
  streams?: Array<{ codec_type?: string; codec_name?: string; duration?: string; start_time?: string; tags?: Record<string, string>; disposition?: { default?: number } }>;
}

export async function ffprobe(file: string): Promise<ProbedMedia> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file], { maxBuffer: 16 << 20 });
  const json = JSON.parse(stdout) as FfprobeJson;
  const number = (value: string | undefined) => (value === undefined || value === 'N/A' ? undefined : Number(value));
  return {
    duration: number(json.format?.duration) ?? Number.NaN,
    formatName: json.format?.format_name ?? '',
    ...(json.format?.tags?.major_brand ? { majorBrand: json.format.tags.major_brand } : {}),
    streams: (json.streams ?? []).map((stream) => {
      const duration = number(stream.duration);
      const startTime = number(stream.start_time);
      const tags = stream.tags ?? {};
      const title = tags.title ?? tags.handler_name;
      return {
        type: stream.codec_type ?? '',
        codec: stream.codec_name ?? '',
        ...(duration === undefined ? {} : { duration }),
        ...(startTime === undefined ? {} : { startTime }),
        ...(tags.language ? { language: tags.language } : {}),
        ...(title ? { title } : {}),
        ...(stream.disposition ? { isDefault: stream.disposition.default === 1 } : {}),
      };
    }),
  };
}

/** Plays the file through ffmpeg's decoders to the null muxer; resolves to the errors it reported ('' when clean). */
export async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-'], { maxBuffer: 16 << 20 });
  return stderr.trim();
}

const FORMAT_NAMES: Record<OutputFormat, string> = { mp4: 'mov,mp4,m4a,3gp,3g2,mj2', mkv: 'matroska,webm', ts: 'mpegts' };

/**
 * The container asked for, one video and one audio stream, and a duration within 1% of `seconds`, plus
 * `discontinuities` × one AAC frame: the merge keeps each run's audio whole, and the fixtures' audio runs
 * up to a frame past their video.
 */
export function expectMedia(media: ProbedMedia, format: OutputFormat, seconds: number, discontinuities = 0): void {
  expect(media.formatName).toBe(FORMAT_NAMES[format]);
  if (format === 'mp4') expect(media.majorBrand).toBe('isom');
  expect(media.streams.map((stream) => stream.type).sort()).toEqual(['audio', 'video']);
  expect(Math.abs(media.duration - seconds)).toBeLessThanOrEqual(seconds * 0.01 + discontinuities * AAC_FRAME_SECONDS);
}

/** 1,024 samples at 44.1 kHz, the fixtures' audio. */
const AAC_FRAME_SECONDS = 1024 / 44_100;

/** The discontinuities a download has, for `expectMedia`. */
export const discontinuitiesOf = (download: { segments: ReadonlyArray<{ discontinuity: boolean }> }): number => download.segments.filter((s) => s.discontinuity).length;
