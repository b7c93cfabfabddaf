// Turns playlist text into what the downloader works with: a MediaPlaylist of
// Segments with absolute URIs, or the variants of a master playlist.
import { Parser, type ParsedByteRange, type ParsedKey, type ParsedManifest } from 'm3u8-parser';
import { PlaylistError, UnsupportedStreamError } from './errors.js';
import { checkSegmentCount } from './playlist-limits.js';

export interface ByteRange {
  offset: number;
  length: number;
}

/** How one segment (or the init section) is encrypted. */
export interface SegmentKey {
  method: 'AES-128';
  /** Absolute key URI (http, https or data:). */
  uri: string;
  /** From the tag's IV attribute; absent means "use the media sequence number". */
  iv?: Buffer;
}

/** The EXT-X-MAP media initialization section of an fMP4 stream. */
export interface InitSection {
  uri: string;
  byterange?: ByteRange;
  key?: SegmentKey;
}

export interface Segment {
  /** 0-based position in the playlist. */
  index: number;
  /** Media sequence number (EXT-X-MEDIA-SEQUENCE + index): the default AES IV. */
  sequence: number;
  uri: string;
  /** Seconds, from EXTINF. */
  duration: number;
  /** Seconds from the start of the playlist. */
  start: number;
  discontinuity: boolean;
  byterange?: ByteRange;
  key?: SegmentKey;
}

export interface MediaPlaylist {
  /** Final URL of the media playlist (after redirects): the base of every relative URI. */
  url: string;
  /** The playlist text as fetched, kept in the work folder for resumes. */
  text: string;
  container: 'ts' | 'fmp4';
  init?: InitSection;
  segments: Segment[];
  /** False for a live playlist (no EXT-X-ENDLIST): only the segments listed now are fetched. */
  endList: boolean;
}

export interface Variant {
  uri: string;
  bandwidth?: number;
  height?: number;
  /** GROUP-ID of the EXT-X-MEDIA audio renditions this variant plays with (its AUDIO attribute). */
  audioGroup?: string;
}

/** One EXT-X-MEDIA TYPE=AUDIO entry of a master playlist. */
export interface AudioRendition {
  groupId: string;
  name: string;
  default: boolean;
  autoselect: boolean;
  /** Absolute URI of its media playlist; absent when the audio is muxed into the variant's own segments. */
  uri?: string;
}

export type ParsedPlaylist =
  | { kind: 'master'; variants: Variant[]; audio: AudioRendition[] }
  | { kind: 'media'; playlist: MediaPlaylist };

/** Parses a playlist's text; `url` is where it came from and resolves relative URIs. */
export function parsePlaylist(text: string, url: string): ParsedPlaylist {
  checkSegmentCount(text, url);
  const parser = new Parser();
  parser.push(text);
  parser.end();
  const manifest = parser.manifest;

  if (manifest.playlists && manifest.playlists.length > 0) {
    const variants = manifest.playlists.map((v): Variant => {
      const variant: Variant = { uri: absolute(v.uri, url, 'variant') };
      const bandwidth = v.attributes.BANDWIDTH ?? v.attributes['AVERAGE-BANDWIDTH'];
      if (typeof bandwidth === 'number' && Number.isFinite(bandwidth)) variant.bandwidth = bandwidth;
      if (v.attributes.RESOLUTION) variant.height = v.attributes.RESOLUTION.height;
      if (typeof v.attributes.AUDIO === 'string') variant.audioGroup = v.attributes.AUDIO;
      return variant;
    });
    return { kind: 'master', variants, audio: audioRenditions(manifest, url) };
  }
  return { kind: 'media', playlist: toMediaPlaylist(manifest, text, url) };
}

function audioRenditions(manifest: ParsedManifest, url: string): AudioRendition[] {
  const renditions: AudioRendition[] = [];
  for (const [groupId, group] of Object.entries(manifest.mediaGroups?.AUDIO ?? {})) {
    for (const [name, media] of Object.entries(group)) {
      const rendition: AudioRendition = { groupId, name, default: media.default === true, autoselect: media.autoselect === true };
      if (media.uri) rendition.uri = absolute(media.uri, url, `audio rendition "${name}"`);
      renditions.push(rendition);
    }
  }
  return renditions;
}

function toMediaPlaylist(manifest: ParsedManifest, text: string, url: string): MediaPlaylist {
  if (manifest.contentProtection) {
    const systems = Object.keys(manifest.contentProtection).join(', ');
    throw new UnsupportedStreamError(`the stream is DRM-protected (${systems}); m3u8dm can only decrypt AES-128`);
  }
  if (manifest.segments.length === 0) throw new PlaylistError(`the playlist ${url} lists no segments`, url);

  const firstSequence = manifest.mediaSequence ?? 0;
  let start = 0;
  let init: InitSection | undefined;
  const segments = manifest.segments.map((parsed, index): Segment => {
    const number = index + 1;
    const segment: Segment = {
      index,
      sequence: firstSequence + index,
      uri: absolute(parsed.uri, url, `segment ${number}`),
      duration: parsed.duration ?? manifest.targetDuration ?? 0,
      start,
      discontinuity: parsed.discontinuity === true,
    };
    start += segment.duration;
    if (parsed.byterange) segment.byterange = byteRange(parsed.byterange, `segment ${number}`, url);
    if (parsed.key) segment.key = segmentKey(parsed.key, url, `segment ${number}`);

    const map = parsed.map?.uri
      ? {
          uri: absolute(parsed.map.uri, url, 'EXT-X-MAP'),
          ...(parsed.map.byterange ? { byterange: byteRange(parsed.map.byterange, 'EXT-X-MAP', url) } : {}),
          ...(parsed.map.key ? { key: segmentKey(parsed.map.key, url, 'EXT-X-MAP') } : {}),
        }
      : undefined;
    if (index === 0) init = map;
    else if (!sameInit(init, map)) {
      // The merge stage puts one init section in front of every segment; a second one would corrupt the output.
      throw new UnsupportedStreamError(`segment ${number} switches to another EXT-X-MAP init section; m3u8dm supports one per playlist`);
    }
    return segment;
  });

  if (init?.key && !init.key.iv) {
    throw new PlaylistError(`the encrypted EXT-X-MAP in ${url} has no IV attribute, which AES-128 init sections require`, url);
  }
  const playlist: MediaPlaylist = { url, text, container: init ? 'fmp4' : 'ts', segments, endList: manifest.endList === true };
  if (init) playlist.init = init;
  return playlist;
}

function sameInit(a: InitSection | undefined, b: InitSection | undefined): boolean {
  if (!a || !b) return a === b;
  return a.uri === b.uri && a.byterange?.offset === b.byterange?.offset && a.byterange?.length === b.byterange?.length;
}

function absolute(uri: string, base: string, what: string): string {
  let resolved: URL;
  try {
    resolved = new URL(uri.trim(), base);
  } catch (cause) {
    throw new PlaylistError(`the ${what} URI "${uri}" in ${base} is not a valid URL`, base, { cause });
  }
  if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:' && !(what.includes('key') && resolved.protocol === 'data:')) {
    throw new PlaylistError(`the ${what} URI "${uri}" in ${base} uses ${resolved.protocol}, expected http: or https:`, base);
  }
  return resolved.href;
}

function byteRange(parsed: ParsedByteRange, what: string, url: string): ByteRange {
  const { length, offset = 0 } = parsed;
  if (length === undefined || !Number.isSafeInteger(length) || length <= 0 || !Number.isSafeInteger(offset) || offset < 0) {
    throw new PlaylistError(`the ${what} byte range in ${url} is malformed`, url);
  }
  return { offset, length };
}

function segmentKey(parsed: ParsedKey, url: string, what: string): SegmentKey | undefined {
  const method = parsed.method.toUpperCase();
  if (method === 'NONE') return undefined;
  if (method !== 'AES-128') {
    throw new UnsupportedStreamError(
      `${what} is encrypted with ${parsed.method}, which m3u8dm cannot decrypt (only AES-128 is supported)`,
    );
  }
  const key: SegmentKey = { method: 'AES-128', uri: absolute(parsed.uri, url, `${what} key`) };
  if (parsed.iv) key.iv = ivFromWords(parsed.iv);
  return key;
}

function ivFromWords(words: Uint32Array): Buffer {
  const iv = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) iv.writeUInt32BE(words[i] ?? 0, i * 4);
  return iv;
}
