// m3u8-parser ships no types; this declares the part of its manifest the downloader reads.
declare module 'm3u8-parser' {
  export interface ParsedByteRange {
    length?: number;
    offset?: number;
  }

  export interface ParsedKey {
    method?: string;
    uri?: string;
    /** Four big-endian 32-bit words when the tag had IV=. */
    iv?: Uint32Array;
  }

  export interface ParsedMap {
    uri?: string;
    byterange?: ParsedByteRange;
    key?: ParsedKey;
  }

  export interface ParsedSegment {
    uri: string;
    duration?: number;
    byterange?: ParsedByteRange;
    key?: ParsedKey;
    map?: ParsedMap;
    discontinuity?: boolean;
    timeline?: number;
  }

  export interface ParsedVariant {
    uri?: string;
    /** Absent for a bare `#EXT-X-STREAM-INF:`; values are NaN/null when malformed. */
    attributes?: {
      BANDWIDTH?: number;
      'AVERAGE-BANDWIDTH'?: number;
      RESOLUTION?: { width: number; height: number };
      CODECS?: string;
      [name: string]: unknown;
    };
  }

  /** One EXT-X-MEDIA entry, keyed by NAME inside its group. */
  export interface ParsedMediaGroupEntry {
    default?: boolean;
    autoselect?: boolean;
    language?: string;
    uri?: string;
  }

  export interface ParsedManifest {
    segments: ParsedSegment[];
    playlists?: ParsedVariant[];
    /** EXT-X-MEDIA renditions by TYPE, then GROUP-ID, then NAME. */
    mediaGroups?: { AUDIO?: Record<string, Record<string, ParsedMediaGroupEntry>>; SUBTITLES?: Record<string, Record<string, ParsedMediaGroupEntry>> };
    mediaSequence?: number;
    targetDuration?: number;
    endList?: boolean;
    contentProtection?: Record<string, unknown>;
  }

  export class Parser {
    manifest: ParsedManifest;
    push(chunk: string): void;
    end(): void;
    on(event: 'warn' | 'info', listener: (event: { message: string }) => void): void;
  }
}
