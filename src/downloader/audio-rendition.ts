// Chooses the alternate audio a master playlist's variant plays with. With the
// task option `audio` at `default`, as a player would: from the variant's AUDIO
// group, DEFAULT=YES first, then AUTOSELECT=YES, then the first one listed.
// With `all` or a list of languages, several renditions of that group, the
// one a player would pick first (it is the output's default track).
import type { AudioChoice, SubtitleChoice } from '../types.js';
import type { AudioRendition, Variant } from './media-playlist.js';

/**
 * The rendition whose media playlist must be downloaded beside the variant's, or undefined when
 * there is none: no AUDIO group, an unknown group, or a chosen rendition without URI (its audio is
 * muxed into the variant's own segments).
 */
export function pickAudioRendition(variant: Variant, renditions: readonly AudioRendition[]): SeparateAudio | undefined {
  const group = groupOf(variant, renditions);
  const chosen = playerChoice(group);
  return chosen && hasPlaylist(chosen) ? chosen : undefined;
}

/**
 * The renditions to download for `choice`, the player's choice first. Only renditions with a playlist of
 * their own count; languages match by primary subtag too (`en` takes `en-US`), case-insensitively. When no
 * rendition is in the languages asked for, the player's choice is taken so the output still has sound.
 */
export function pickAudioRenditions(variant: Variant, renditions: readonly AudioRendition[], choice: AudioChoice = 'default'): SeparateAudio[] {
  const first = pickAudioRendition(variant, renditions);
  if (choice === 'default') return first ? [first] : [];
  const group = groupOf(variant, renditions).filter(hasPlaylist);
  const wanted = choice === 'all' ? group : group.filter((r) => choice.some((code) => languageMatches(r.language, code)));
  if (wanted.length === 0) return first ? [first] : [];
  // One track per playlist: some masters list the same playlist under two names.
  const unique = wanted.filter((r, i) => wanted.findIndex((o) => o.uri === r.uri) === i);
  const lead = unique.find((r) => r === first) ?? playerChoice(unique);
  return lead ? [lead, ...unique.filter((r) => r !== lead)] : unique;
}

/** The subtitle renditions to download for `choice` (`all`, `none`, languages), the player's choice first. */
export function pickSubtitleRenditions(variant: Variant, renditions: readonly AudioRendition[], choice: SubtitleChoice = 'all'): SeparateAudio[] {
  if (choice === 'none' || variant.subtitleGroup === undefined) return [];
  const group = renditions.filter((r) => r.groupId === variant.subtitleGroup).filter(hasPlaylist);
  const wanted = choice === 'all' ? group : group.filter((r) => choice.some((code) => languageMatches(r.language, code)));
  const unique = wanted.filter((r, i) => wanted.findIndex((o) => o.uri === r.uri) === i);
  const lead = playerChoice(unique);
  return lead ? [lead, ...unique.filter((r) => r !== lead)] : [];
}

function groupOf(variant: Variant, renditions: readonly AudioRendition[]): AudioRendition[] {
  if (variant.audioGroup === undefined) return [];
  return renditions.filter((r) => r.groupId === variant.audioGroup);
}

function playerChoice<T extends AudioRendition>(group: readonly T[]): T | undefined {
  return group.find((r) => r.default) ?? group.find((r) => r.autoselect) ?? group[0];
}

/** `en` matches `en`, `EN`, `en-US`; `en-US` matches only `en-US`. */
export function languageMatches(language: string | undefined, code: string): boolean {
  if (!language) return false;
  const have = language.toLowerCase();
  const want = code.toLowerCase();
  return have === want || have.startsWith(`${want}-`);
}

/** A rendition with a media playlist of its own. */
export type SeparateAudio = AudioRendition & { uri: string };

const hasPlaylist = (rendition: AudioRendition): rendition is SeparateAudio => rendition.uri !== undefined;
