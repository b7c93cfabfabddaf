// Turns playlist text into what the downloader works with: a MediaPlaylist of
// Segments with absolute URIs, or the variants of a master playlist.
import { Parser, type ParsedByteRange, type ParsedKey, type ParsedManifest } from 'm3u8-parser';
import { EmptyPlaylistError, PlaylistError, UnsupportedStreamError } from './errors.js';
import { gapFlags, normaliseLineEndings, substituteVariables, type Definitions } from './playlist-text.js';
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
  /** EXT-X-GAP: the segment holds no media; it is not fetched and the output lacks its stretch. */
  gap: boolean;
  byterange?: ByteRange;
  key?: SegmentKey;
  /** Which of the playlist's `inits` this segment plays with (fMP4); absent for TS. */
  initIndex?: number;
}

export interface MediaPlaylist {
  /** Final URL of the media playlist (after redirects): the base of every relative URI. */
  url: string;
  /** The playlist text as fetched, kept in the work folder for resumes. */
  text: string;
  container: 'ts' | 'fmp4';
  /** The first EXT-X-MAP (fMP4): `inits[0]`. */
  init?: InitSection;
  /** Every distinct EXT-X-MAP in playlist order; a new one usually comes after a discontinuity. Empty for TS. */
  inits: InitSection[];
  segments: Segment[];
  /** False for a live playlist (no EXT-X-ENDLIST): it is recorded, reloaded until it ends. */
  endList: boolean;
  /** EXT-X-TARGETDURATION in seconds, when the playlist has one: a live playlist's reload interval. */
  targetDuration?: number;
  /** The EXT-X-MEDIA rendition this playlist was reached through (alternate audio), for stream tags. */
  rendition?: RenditionInfo;
}

/** What an output stream is tagged with. */
export interface RenditionInfo {
  name: string;
  language?: string;
  /** DEFAULT=YES, or the rendition a player would pick first. */
  isDefault: boolean;
}

export interface Variant {
  uri: string;
  bandwidth?: number;
  height?: number;
  /** GROUP-ID of the EXT-X-MEDIA audio renditions this variant plays with (its AUDIO attribute). */
  audioGroup?: string;
  /** GROUP-ID of its subtitle renditions (its SUBTITLES attribute). */
  subtitleGroup?: string;
}

/** One EXT-X-MEDIA TYPE=AUDIO entry of a master playlist. */
export interface AudioRendition {
  groupId: string;
  name: string;
  default: boolean;
  autoselect: boolean;
  /** Absolute URI of its media playlist; absent when the audio is muxed into the variant's own segments. */
  uri?: string;
  /** LANGUAGE (an RFC 5646 tag such as `en` or `fr-CA`), when given. */
  language?: string;
}

export type ParsedPlaylist =
  | { kind: 'master'; variants: Variant[]; audio: AudioRendition[]; subtitles: AudioRendition[]; definitions: Definitions }
  | { kind: 'media'; playlist: MediaPlaylist };

/**
 * Parses a playlist's text; `url` is where it came from: it resolves relative URIs and feeds
 * EXT-X-DEFINE QUERYPARAM. `imported` are the multivariant playlist's variables, for a media playlist
 * reached from one (EXT-X-DEFINE IMPORT).
 */
export function parsePlaylist(rawText: string, url: string, imported?: Definitions): ParsedPlaylist {
  checkSegmentCount(rawText, url);
  const { text, definitions } = substituteVariables(normaliseLineEndings(rawText), url, imported);
  const parser = new Parser();
  parser.push(text);
  parser.end();
  const manifest = parser.manifest;

  if (manifest.playlists && manifest.playlists.length > 0) {
    const variants = manifest.playlists.flatMap((v, i): Variant[] => {
      // A bare `#EXT-X-STREAM-INF:` has no attributes at all; a stream-inf without a URI line, none to fetch.
      if (typeof v.uri !== 'string' || v.uri.trim() === '') return [];
      const attributes = v.attributes ?? {};
      const variant: Variant = { uri: absolute(v.uri, url, `variant ${i + 1}`) };
      const bandwidth = positive(attributes.BANDWIDTH) ?? positive(attributes['AVERAGE-BANDWIDTH']);
      if (bandwidth !== undefined) variant.bandwidth = bandwidth;
      const height = positive(attributes.RESOLUTION?.height);
      if (height !== undefined) variant.height = height;
      if (typeof attributes.AUDIO === 'string') variant.audioGroup = attributes.AUDIO;
      if (typeof attributes.SUBTITLES === 'string') variant.subtitleGroup = attributes.SUBTITLES;
      return [variant];
    });
    if (variants.length === 0) throw new PlaylistError(`the master playlist ${url} lists no variant with a URI`, url);
    return { kind: 'master', variants, audio: audioRenditions(manifest, url), subtitles: audioRenditions(manifest, url, 'SUBTITLES'), definitions };
  }
  // The parser drops an EXT-X-STREAM-INF without a URI line; a master of only those is still a master.
  if (manifest.segments.length === 0 && /^#EXT-X-STREAM-INF/m.test(text)) {
    throw new PlaylistError(`the master playlist ${url} lists no variant with a URI`, url);
  }
  return { kind: 'media', playlist: toMediaPlaylist(manifest, text, url) };
}

/** A finite number above zero, or undefined (a missing or malformed attribute: NaN, null, a string). */
function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** The EXT-X-MEDIA renditions of one type (AUDIO, or SUBTITLES, which have the same attributes we use). */
function audioRenditions(manifest: ParsedManifest, url: string, type: 'AUDIO' | 'SUBTITLES' = 'AUDIO'): AudioRendition[] {
  const renditions: AudioRendition[] = [];
  for (const [groupId, group] of Object.entries(manifest.mediaGroups?.[type] ?? {})) {
    for (const [name, media] of Object.entries(group)) {
      const rendition: AudioRendition = { groupId, name, default: media.default === true, autoselect: media.autoselect === true };
      if (typeof media.uri === 'string' && media.uri.trim() !== '') rendition.uri = absolute(media.uri, url, `${type === 'AUDIO' ? 'audio' : 'subtitle'} rendition "${name}"`);
      if (typeof media.language === 'string' && media.language.trim() !== '') rendition.language = media.language.trim();
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
  if (manifest.segments.length === 0) throw new EmptyPlaylistError(`the playlist ${url} lists no segments`, url);

  const firstSequence = manifest.mediaSequence ?? 0;
  const gaps = gapFlags(text);
  let start = 0;
  const inits: InitSection[] = [];
  let mapped = 0;
  const segments = manifest.segments.map((parsed, index): Segment => {
    const number = index + 1;
    const duration = parsed.duration ?? manifest.targetDuration ?? 0;
    const segment: Segment = {
      index,
      sequence: firstSequence + index,
      uri: absolute(parsed.uri, url, `segment ${number}`),
      duration: Number.isFinite(duration) && duration > 0 ? duration : 0,
      start,
      discontinuity: parsed.discontinuity === true,
      gap: gaps[index] === true,
    };
    start += segment.duration;
    if (parsed.byterange) segment.byterange = byteRange(parsed.byterange, `segment ${number}`, url);
    if (parsed.key) segment.key = segmentKey(parsed.key, url, `segment ${number}`);

    if (parsed.map?.uri) {
      const map: InitSection = {
        uri: absolute(parsed.map.uri, url, 'EXT-X-MAP'),
        ...(parsed.map.byterange ? { byterange: byteRange(parsed.map.byterange, 'EXT-X-MAP', url) } : {}),
        ...(parsed.map.key ? { key: segmentKey(parsed.map.key, url, 'EXT-X-MAP') } : {}),
      };
      // A new init section (fMP4 after a discontinuity, as ffmpeg and hls.js take it): each run of segments gets its own.
      let at = inits.findIndex((known) => sameInit(known, map));
      if (at < 0) at = inits.push(map) - 1;
      segment.initIndex = at;
      mapped++;
    }
    return segment;
  });
  if (mapped > 0 && mapped < segments.length) {
    const first = segments.findIndex((segment) => segment.initIndex === undefined);
    throw new UnsupportedStreamError(`segment ${first + 1} of ${url} has no EXT-X-MAP while others do; m3u8dm cannot mix MPEG-TS and fMP4 segments in one playlist`);
  }

  for (const init of inits) {
    if (init.key && !init.key.iv) {
      throw new PlaylistError(`the encrypted EXT-X-MAP in ${url} has no IV attribute, which AES-128 init sections require`, url);
    }
  }
  const playlist: MediaPlaylist = { url, text, container: inits.length > 0 ? 'fmp4' : 'ts', inits, segments, endList: manifest.endList === true };
  if (inits[0]) playlist.init = inits[0];
  if (typeof manifest.targetDuration === 'number' && Number.isFinite(manifest.targetDuration)) playlist.targetDuration = manifest.targetDuration;
  return playlist;
}

function sameInit(a: InitSection | undefined, b: InitSection | undefined): boolean {
  if (!a || !b) return a === b;
  return a.uri === b.uri && a.byterange?.offset === b.byterange?.offset && a.byterange?.length === b.byterange?.length;
}

function absolute(uri: unknown, base: string, what: string): string {
  if (typeof uri !== 'string' || uri.trim() === '') throw new PlaylistError(`the ${what} in ${base} has no URI`, base);
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
  const method = String(parsed.method ?? '').toUpperCase();
  if (method === 'NONE') return undefined;
  if (method === '') throw new PlaylistError(`the EXT-X-KEY of ${what} in ${url} has no METHOD`, url);
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
