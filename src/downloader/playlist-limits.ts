// How big a playlist may be before it is parsed. The parser keeps several objects per
// segment (1.3 GB for 700,000), far past the service's memory budget, while no real
// VOD playlist comes near: a 24-hour stream of 2-second segments is 43,200. Counting
// the segment tags of the text first costs one pass and no memory.
import { PlaylistError } from './errors.js';

/** Most segments a media playlist may list. */
export const MAX_PLAYLIST_SEGMENTS = 200_000;

/** Throws a PlaylistError when `text` lists more than MAX_PLAYLIST_SEGMENTS segments. */
export function checkSegmentCount(text: string, url: string, max = MAX_PLAYLIST_SEGMENTS): void {
  let count = 0;
  for (let at = text.indexOf('#EXTINF'); at !== -1; at = text.indexOf('#EXTINF', at + 7)) {
    if (++count > max) {
      throw new PlaylistError(`the playlist ${url.length > 200 ? `${url.slice(0, 199)}…` : url} lists more than ${max.toLocaleString('en-US')} segments; that many is refused (no real stream has them)`, url);
    }
  }
}
