// Playlist text before the tag parser sees it: line endings as old servers
// write them (CR only, CRLF), EXT-X-DEFINE variables substituted (RFC 8216bis
// §4.4.2.3: NAME/VALUE, IMPORT from the multivariant playlist, QUERYPARAM from
// the playlist's own URL), and the EXT-X-GAP marks the parser does not keep.
import { PlaylistError } from './errors.js';

/** Variables of one playlist by name, after substitution. */
export type Definitions = Record<string, string>;

/** One line break style: `\n`. CR-only playlists (classic Mac tools) and CRLF ones read like the rest. */
export function normaliseLineEndings(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

const DEFINE = /^#EXT-X-DEFINE:(.*)$/;
const REFERENCE = /\{\$([A-Za-z0-9_-]+)\}/g;
const NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Applies the playlist's EXT-X-DEFINE tags to every other line and drops the tags. `imported` are the
 * multivariant playlist's variables (for IMPORT); undefined when `text` is the multivariant playlist itself.
 * A playlist without EXT-X-DEFINE is returned as it is. Every rule the RFC says must fail the playlist
 * (a duplicate name, an unknown IMPORT, a missing query parameter, a reference to an undefined variable)
 * is a PlaylistError naming what is wrong.
 */
export function substituteVariables(text: string, url: string, imported?: Definitions): { text: string; definitions: Definitions } {
  const lines = text.split('\n');
  if (!lines.some((line) => DEFINE.test(line.trim()))) return { text, definitions: {} };
  const definitions: Definitions = Object.create(null) as Definitions;
  const fail = (why: string) => new PlaylistError(`the EXT-X-DEFINE variables of ${url} are malformed: ${why}`, url);
  const define = (name: string, value: string) => {
    if (!NAME.test(name)) throw fail(`"${name}" is not a valid variable name (letters, digits, - and _)`);
    if (name in definitions) throw fail(`"${name}" is defined twice`);
    definitions[name] = value;
  };
  const kept: string[] = [];
  for (const line of lines) {
    const match = DEFINE.exec(line.trim());
    if (!match) {
      kept.push(line);
      continue;
    }
    const attrs = quotedAttributes(match[1] ?? '');
    const given = ['NAME', 'IMPORT', 'QUERYPARAM'].filter((key) => key in attrs);
    if (given.length !== 1) throw fail(`each EXT-X-DEFINE needs exactly one of NAME, IMPORT or QUERYPARAM, got "${line.trim()}"`);
    if (attrs.NAME !== undefined) {
      if (attrs.VALUE === undefined) throw fail(`"${attrs.NAME}" has no VALUE`);
      define(attrs.NAME, attrs.VALUE);
    } else if (attrs.IMPORT !== undefined) {
      if (imported === undefined) throw fail(`IMPORT="${attrs.IMPORT}" needs a multivariant playlist to import from`);
      const value = imported[attrs.IMPORT];
      if (value === undefined) throw fail(`IMPORT="${attrs.IMPORT}" is not defined in the multivariant playlist`);
      define(attrs.IMPORT, value);
    } else if (attrs.QUERYPARAM !== undefined) {
      const value = queryParam(url, attrs.QUERYPARAM);
      if (value === undefined) throw fail(`QUERYPARAM="${attrs.QUERYPARAM}" is not a query parameter of the playlist URL`);
      define(attrs.QUERYPARAM, value);
    }
  }
  const substituted = kept.map((line) =>
    line.replace(REFERENCE, (_all, name: string) => {
      const value = definitions[name];
      if (value === undefined) throw fail(`{$${name}} is used but not defined`);
      return value;
    }),
  );
  return { text: substituted.join('\n'), definitions: { ...definitions } };
}

/** `NAME="x",VALUE="y"` → { NAME: 'x', VALUE: 'y' } (EXT-X-DEFINE's attributes are all quoted strings). */
function quotedAttributes(list: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const match of list.matchAll(/([A-Z0-9-]+)=(?:"([^"]*)"|([^,]*))/g)) {
    const [, key, quoted, bare] = match;
    if (key) attrs[key] = quoted ?? bare ?? '';
  }
  return attrs;
}

function queryParam(url: string, name: string): string | undefined {
  try {
    const value = new URL(url).searchParams.get(name);
    return value === null || value === '' ? undefined : value;
  } catch {
    return undefined;
  }
}

/**
 * For each media segment (URI line) in order, whether an EXT-X-GAP tag applies to it. The tag parser drops
 * the tag; the segments it marks hold no media and must not be fetched.
 */
export function gapFlags(text: string): boolean[] {
  const flags: boolean[] = [];
  let gap = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '#EXT-X-GAP') gap = true;
    else if (line && !line.startsWith('#')) {
      flags.push(gap);
      gap = false;
    }
  }
  return flags;
}
