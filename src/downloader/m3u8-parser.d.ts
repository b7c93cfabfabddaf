// m3u8-parser ships no types; this declares the part of its manifest the downloader reads.
declare module 'm3u8-parser' {
  export interface ParsedByteRange {
    length?: number;
    offset?: number;
  }

  export interface ParsedKey {
    method: string;
    uri: string;
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
    uri: string;
    attributes: {
      BANDWIDTH?: number;
      'AVERAGE-BANDWIDTH'?: number;
      RESOLUTION?: { width: number; height: number };
      CODECS?: string;
      [name: string]: unknown;
    };
  }

  export interface ParsedManifest {
    segments: ParsedSegment[];
    playlists?: ParsedVariant[];
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
