// From the URL a user gave to one media playlist: follows a web page's .m3u8
// link once, picks a master playlist's variant (and the alternate audio
// rendition it plays with, when that has a playlist of its own), and refuses
// anything that is not a playlist with a message saying what came instead.
import type { Readable } from 'node:stream';
import type { AudioChoice, DebugLog, SubtitleChoice, VariantChoice } from '../types.js';
import { PlaylistError, RequestFailure } from './errors.js';
import { findPlaylistLink } from './html-link.js';
import type { HttpClient } from './http-client.js';
import { pickAudioRenditions, pickSubtitleRenditions, type SeparateAudio } from './audio-rendition.js';
import { parsePlaylist, type MediaPlaylist, type Variant } from './media-playlist.js';
import type { ByteGate } from './rate-limit.js';
import type { Definitions } from './playlist-text.js';
import { pickVariant } from './variant.js';

/** Playlists beyond this are refused while streaming: no real one comes close, a runaway body would eat memory. */
export const PLAYLIST_MAX_BYTES = 16 * 1024 * 1024;
/** Page → master → media, with a spare for a master that points at another master. */
const MAX_HOPS = 4;
/** Enough of the body to tell text from binary. */
const SNIFF_BYTES = 1024;

interface FetchedText {
  text: string;
  /** Final URL after redirects. */
  url: string;
  contentType: string;
}

/** The media playlists of one download: the variant's, and its alternate audio when that is a separate playlist. */
export interface ResolvedStream {
  playlist: MediaPlaylist;
  /** The first (default) separate audio track. */
  audio?: MediaPlaylist;
  /** Further audio tracks (option `audio`: `all` or languages), in output order after `audio`. */
  moreAudio?: MediaPlaylist[];
  /** Subtitle renditions' playlists (segmented WebVTT, option `subtitles`), the default one first. */
  subtitles?: MediaPlaylist[];
}

export async function resolvePlaylist(
  client: HttpClient,
  url: string,
  variant: VariantChoice,
  debug?: DebugLog,
  audioChoice: AudioChoice = 'default',
  subtitleChoice: SubtitleChoice = 'all',
): Promise<ResolvedStream> {
  let parsedUrl: URL | undefined;
  try {
    parsedUrl = new URL(url);
  } catch {
    // reported below
  }
  if (parsedUrl?.protocol !== 'http:' && parsedUrl?.protocol !== 'https:') {
    throw new PlaylistError(`"${url}" is not an http or https URL`, url);
  }
  let current = url;
  // The chosen variant's renditions (separate audio, subtitles), loading while its own playlist does:
  // one round trip after the master, not two in a row.
  let renditions: Promise<{ audio: MediaPlaylist[]; subtitles: MediaPlaylist[] }> | undefined;
  // The multivariant playlist's EXT-X-DEFINE variables, which the media playlists may IMPORT.
  let imported: Definitions | undefined;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const fetched = await fetchText(client, current);
    const text = fetched.text.replace(/^\uFEFF/, '');

    if (!looksLikePlaylist(text)) {
      if (hop > 0 || !looksLikeHtml(text, fetched.contentType)) throw notAPlaylist(fetched, text);
      const link = findPlaylistLink(text, fetched.url);
      if (!link) throw new PlaylistError(`${fetched.url} is a web page that links no .m3u8 playlist`, fetched.url);
      debug?.(`${fetched.url} is a web page; following its playlist link ${link}`);
      current = link;
      continue;
    }

    const parsed = parsePlaylist(text, fetched.url, imported);
    if (parsed.kind === 'media') {
      const { playlist } = parsed;
      debug?.(describeMedia(playlist));
      const { audio: [audio, ...moreAudio], subtitles: subtitleTracks } = (await renditions) ?? { audio: [], subtitles: [] };
      return {
        playlist,
        ...(audio ? { audio } : {}),
        ...(moreAudio.length > 0 ? { moreAudio } : {}),
        ...(subtitleTracks.length > 0 ? { subtitles: subtitleTracks } : {}),
      };
    }
    imported = parsed.definitions;
    const chosen = pickVariant(parsed.variants, variant);
    debug?.(`master playlist ${fetched.url}: ${parsed.variants.map(describeVariant).join('; ')}; variant=${String(variant)} picks ${describeVariant(chosen)}`);
    // Some masters list the audio-only playlist as a variant too; taken as the variant, it needs no second track.
    const audios = pickAudioRenditions(chosen, parsed.audio, audioChoice).filter((r) => r.uri !== chosen.uri);
    const subtitles = pickSubtitleRenditions(chosen, parsed.subtitles, subtitleChoice);
    if (subtitles.length > 0) debug?.(`subtitles=${JSON.stringify(subtitleChoice)}: ${subtitles.map((r) => `"${r.name}"${r.language ? ` [${r.language}]` : ''}`).join(', ')}`);
    if (chosen.audioGroup !== undefined) {
      const list = audios.map((a) => `"${a.name}"${a.language ? ` [${a.language}]` : ''} (${a.uri})`).join(', ');
      debug?.(`audio group "${chosen.audioGroup}", audio=${JSON.stringify(audioChoice)}: ${audios.length > 0 ? `${list} downloaded as separate tracks` : 'no rendition with its own playlist; the audio is in the variant'}`);
    }
    const loading = Promise.all([
      Promise.all(audios.map((rendition, i) => resolveAudio(client, rendition, i === 0, imported, debug))),
      Promise.all(subtitles.map((rendition, i) => resolveSubtitles(client, rendition, i === 0, imported, debug))),
    ]).then(([audio, subs]) => ({ audio, subtitles: subs.filter((p) => p !== undefined) }));
    // Awaited once the variant's playlist is in: a failure of the variant's own comes first, and a
    // nested master's renditions replace these.
    loading.catch(() => undefined);
    renditions = loading;
    current = chosen.uri;
  }
  throw new PlaylistError(`${url} leads through more than ${MAX_HOPS} pages and playlists without reaching a media playlist`, url);
}

/**
 * A live stream's media playlist, reloaded: fetched and parsed, with a master or anything
 * that is not a playlist refused (the URL was a media playlist when the recording began).
 */
export async function fetchMediaPlaylist(client: HttpClient, url: string): Promise<MediaPlaylist> {
  const fetched = await fetchText(client, url);
  const text = fetched.text.replace(/^\uFEFF/, '');
  if (!looksLikePlaylist(text)) throw notAPlaylist(fetched, text);
  const parsed = parsePlaylist(text, fetched.url);
  if (parsed.kind !== 'media') throw new PlaylistError(`the live playlist ${fetched.url} turned into a master playlist`, fetched.url);
  return parsed.playlist;
}

/** The alternate audio's media playlist; a master or a page in its place is refused. */
async function resolveAudio(client: HttpClient, rendition: SeparateAudio, lead: boolean, imported: Definitions | undefined, debug?: DebugLog): Promise<MediaPlaylist> {
  const fetched = await fetchText(client, rendition.uri);
  const text = fetched.text.replace(/^\uFEFF/, '');
  if (!looksLikePlaylist(text)) throw notAPlaylist(fetched, text);
  const parsed = parsePlaylist(text, fetched.url, imported);
  if (parsed.kind !== 'media') {
    throw new PlaylistError(`the audio rendition "${rendition.name}" (${fetched.url}) is a master playlist, expected a media playlist`, fetched.url);
  }
  debug?.(`audio ${describeMedia(parsed.playlist)}`);
  const { playlist } = parsed;
  playlist.rendition = { name: rendition.name, isDefault: lead, ...(rendition.language ? { language: rendition.language } : {}) };
  return playlist;
}

/** A subtitle rendition's playlist; one that cannot be read is left out (the video does not depend on it). */
async function resolveSubtitles(client: HttpClient, rendition: SeparateAudio, lead: boolean, imported: Definitions | undefined, debug?: DebugLog): Promise<MediaPlaylist | undefined> {
  try {
    const fetched = await fetchText(client, rendition.uri);
    const parsed = parsePlaylist(fetched.text.replace(/^\uFEFF/, ''), fetched.url, imported);
    if (parsed.kind !== 'media') throw new PlaylistError(`the subtitle rendition "${rendition.name}" is a master playlist`, fetched.url);
    const { playlist } = parsed;
    playlist.rendition = { name: rendition.name, isDefault: lead, ...(rendition.language ? { language: rendition.language } : {}) };
    return playlist;
  } catch (error) {
    if (!(error instanceof PlaylistError)) throw error;
    debug?.(`subtitle rendition "${rendition.name}" left out: ${error.message}`);
    return undefined;
  }
}

function describeMedia(playlist: MediaPlaylist): string {
  return `media playlist ${playlist.url}: ${playlist.segments.length} segments, ${playlist.container}${playlist.endList ? '' : ', live (no EXT-X-ENDLIST): recording it'}`;
}

function describeVariant(v: Variant): string {
  return `${v.uri} (${v.height ? `${v.height}p, ` : ''}${v.bandwidth ?? '?'} bps)`;
}

async function fetchText(client: HttpClient, url: string): Promise<FetchedText> {
  try {
    return await client.get(url, { decompress: true }, async (body, head) => {
      const contentType = String(head.headers['content-type'] ?? '');
      const declared = Number(head.headers['content-length']);
      if (Number.isFinite(declared) && declared > PLAYLIST_MAX_BYTES) throw tooBig(head.url);
      const bytes = await readCapped(body, head.url, contentType, client.gate);
      return { text: bytes.toString('utf8'), url: head.url, contentType };
    });
  } catch (error) {
    if (error instanceof RequestFailure) {
      const message = error.status ? `the playlist ${url} ${error.message}` : `could not fetch the playlist ${url}: ${error.message}`;
      throw new PlaylistError(message, url, { cause: error, ...(error.status ? { status: error.status } : {}) });
    }
    throw error;
  }
}

/** Reads the body up to PLAYLIST_MAX_BYTES, giving up early on binary data. */
async function readCapped(body: Readable, url: string, contentType: string, gate: ByteGate | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let sniffed = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > PLAYLIST_MAX_BYTES) throw tooBig(url);
    chunks.push(chunk);
    await gate?.(chunk.length);
    if (!sniffed && size >= SNIFF_BYTES) {
      sniffed = true;
      if (isBinary(Buffer.concat(chunks))) throw binary(url, contentType);
    }
  }
  const all = Buffer.concat(chunks, size);
  if (!sniffed && isBinary(all)) throw binary(url, contentType);
  return all;
}

function isBinary(head: Buffer): boolean {
  const sample = head.subarray(0, SNIFF_BYTES);
  let control = 0;
  for (const byte of sample) {
    if (byte === 0) return true;
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) control++;
  }
  return control > sample.length / 20;
}

const tooBig = (url: string) =>
  new PlaylistError(`the playlist ${url} is larger than ${PLAYLIST_MAX_BYTES / (1024 * 1024)} MB; that is not an HLS playlist`, url);

const binary = (url: string, contentType: string) =>
  new PlaylistError(`${url} answered binary data${contentType ? ` (${contentType})` : ''}, not an HLS playlist`, url);

function looksLikePlaylist(text: string): boolean {
  // `[\r\n]`: CR-only playlists have no `\n` for `^` to see.
  return text.trimStart().startsWith('#EXTM3U') || /(?:^|[\r\n])#EXT(?:INF|-X-STREAM-INF):/.test(text);
}

function looksLikeHtml(text: string, contentType: string): boolean {
  return /html/i.test(contentType) || /^\s*<(?:!doctype|html|head|body)\b/i.test(text) || /<html[\s>]/i.test(text);
}

function notAPlaylist(fetched: FetchedText, text: string): PlaylistError {
  const { url, contentType } = fetched;
  const trimmed = text.trim();
  let what: string;
  if (trimmed === '') what = 'an empty body';
  else if (looksLikeHtml(trimmed, contentType)) what = 'a web page (a page is followed only once, from the URL given)';
  else if (/json/i.test(contentType) || isJson(trimmed)) what = 'JSON';
  else what = `text starting "${trimmed.slice(0, 40).replace(/\s+/g, ' ')}${trimmed.length > 40 ? '…' : ''}"`;
  return new PlaylistError(`${url} answered ${what}, not an HLS playlist (no #EXTM3U)`, url);
}

function isJson(text: string): boolean {
  if (!/^[[{]/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
