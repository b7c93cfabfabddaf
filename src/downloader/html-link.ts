// Finds the .m3u8 a web page points to (a <video src>, a player config, a bare URL in a script).

/** Quoted strings (attribute values, JS literals) holding an .m3u8 path. */
const QUOTED = /["']([^"'<>\s]*?\.m3u8(?:[?#][^"'<>\s]*)?)["']/gi;
/** Absolute URLs written without quotes. */
const BARE = /https?:(?:\/|\\\/){2}[^\s"'<>()]+?\.m3u8(?:\?[^\s"'<>()]*)?/gi;

function unescape(text: string): string {
  return text
    .replace(/\\\//g, '/')
    .replace(/\\u002[fF]/g, '/')
    .replace(/&amp;/g, '&')
    .replace(/&#x2[fF];|&#47;/g, '/');
}

/** The first .m3u8 URL in the page, made absolute against `pageUrl`, or undefined. */
export function findPlaylistLink(html: string, pageUrl: string): string | undefined {
  for (const pattern of [QUOTED, BARE]) {
    for (const match of html.matchAll(pattern)) {
      const candidate = unescape(match[1] ?? match[0]).trim();
      try {
        const url = new URL(candidate, pageUrl);
        if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
      } catch {
        // not a URL after all; look further
      }
    }
  }
  return undefined;
}
