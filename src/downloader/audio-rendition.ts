// Chooses the alternate audio a master playlist's variant plays with, as a
// player would: from the variant's AUDIO group, DEFAULT=YES first, then
// AUTOSELECT=YES, then the first one listed.
import type { AudioRendition, Variant } from './media-playlist.js';

/**
 * The rendition whose media playlist must be downloaded beside the variant's, or undefined when
 * there is none: no AUDIO group, an unknown group, or a chosen rendition without URI (its audio is
 * muxed into the variant's own segments).
 */
export function pickAudioRendition(variant: Variant, renditions: readonly AudioRendition[]): SeparateAudio | undefined {
  if (variant.audioGroup === undefined) return undefined;
  const group = renditions.filter((r) => r.groupId === variant.audioGroup);
  const chosen = group.find((r) => r.default) ?? group.find((r) => r.autoselect) ?? group[0];
  return chosen && hasPlaylist(chosen) ? chosen : undefined;
}

/** A rendition with a media playlist of its own. */
export type SeparateAudio = AudioRendition & { uri: string };

const hasPlaylist = (rendition: AudioRendition): rendition is SeparateAudio => rendition.uri !== undefined;
