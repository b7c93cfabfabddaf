// What a download keeps in its work folder so a later run resumes it: the
// resolved playlist, finished segment files (written as .part, renamed when
// complete, so a final name is always a whole file) and a small manifest of them.
// Each run's `.part` and `.tmp` names carry a token of its own (`seg00016.ts.3f9a1c2e.part`):
// a fenced node that wakes up in a shared work folder and finishes what it had in flight
// writes and renames its own file, never the new owner's.
// A separate audio rendition keeps the same three in the `audio/` subfolder
// (further ones, with the option `audio` at `all` or languages, in `audio1/`, `audio2/`…).
import { appendFile, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { VariantChoice } from '../types.js';
import { parsePlaylist, type MediaPlaylist, type RenditionInfo } from './media-playlist.js';
import type { ResolvedStream } from './resolve-playlist.js';

const PLAYLIST_TEXT = 'playlist.m3u8';
const PLAYLIST_INFO = 'playlist.json';
const MANIFEST = 'segments.jsonl';
const INIT = 'init.mp4';
/** Subfolder of the alternate audio track: a work folder of its own. */
const AUDIO_DIR = 'audio';
const OUR_FILES = /^(?:seg\d+\.(?:ts|m4s)|init\d*\.mp4|playlist\.(?:m3u8|json)|segments\.jsonl)(?:(?:\.[0-9a-f]{8})?\.(?:part|tmp))?$/;
/** A `.part` or `.tmp` file of ours: a run's unfinished write (its own token, or none from before tokens). */
const UNFINISHED = /\.(?:part|tmp)$/;

interface PlaylistInfo {
  /** 1; a file of another layout is not resumed from. */
  version: number;
  /** The URL the task was created with. */
  source: string;
  variant: string;
  /** The media playlist's final URL, the base of its relative URIs. */
  url: string;
  /** The alternate audio's playlist URL, whose playlist and segments are in `audio/`; absent when there is none. */
  audio?: string;
  /** Further audio tracks' playlist URLs, in `audio1/`, `audio2/`…; absent when there are none. */
  moreAudio?: string[];
  /** The rendition an audio track's playlist was reached through (in the audio folders' own info). */
  rendition?: RenditionInfo;
  /** Subtitle renditions' playlists, kept here whole: their segments are small text fetched again on resume. */
  subtitles?: Array<{ url: string; text: string; rendition?: RenditionInfo }>;
}

/** A finished file: its size and the server's Last-Modified, when it sent one. */
export interface FinishedFile {
  bytes: number;
  lastModified?: Date;
}

export interface ManifestLine {
  f: string;
  b: number;
  lm?: string;
}

export function segmentFileName(index: number, container: 'ts' | 'fmp4'): string {
  return `seg${String(index).padStart(5, '0')}.${container === 'ts' ? 'ts' : 'm4s'}`;
}

/** `init.mp4` for the first init section, `init1.mp4`, `init2.mp4`… for those a playlist switches to later. */
export const initFileName = (n = 0): string => (n === 0 ? INIT : `init${n}.mp4`);

export class WorkDir {
  readonly dir: string;
  /** The manifest, held open while segments finish (one write per batch of commits instead of open+write+close each). */
  #manifest: Promise<FileHandle> | undefined;
  /** The playlist save in progress, which commits wait for. */
  #playlistSaved: Promise<void> = Promise.resolve();
  /** Manifest lines waiting for the next write: commits that land together share one. */
  #lines: string[] = [];
  /** The write that will carry `#lines`, once the one in flight is done. */
  #nextWrite: Promise<void> | undefined;
  /** The last manifest write started. */
  #lastWrite: Promise<void> = Promise.resolve();
  readonly #audioTracks = new Map<number, WorkDir>();
  /** This run's token in its unfinished files' names. */
  readonly #token = randomBytes(4).toString('hex');

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  /** Where this run writes `name` before `commit` makes it final. */
  partPath(name: string): string {
    return this.path(`${name}.${this.#token}.part`);
  }

  /** Makes the folder; unfinished files another run left (crashed or fenced) go, as no commit will take them. */
  async create(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = await readdir(this.dir);
    const leftover = (n: string) => OUR_FILES.test(n) && UNFINISHED.test(n) && !n.includes(`.${this.#token}.`);
    await Promise.all(names.filter(leftover).map((n) => rm(this.path(n), { force: true })));
  }

  /** The work folder of the alternate audio track (`audio/`), with its own playlist and manifest. */
  get audio(): WorkDir {
    return this.audioTrack(0);
  }

  /** The work folder of audio track `n`: `audio/` for the first, `audio1/`, `audio2/`… for the others. */
  audioTrack(n: number): WorkDir {
    let track = this.#audioTracks.get(n);
    if (!track) {
      track = new WorkDir(this.path(n === 0 ? AUDIO_DIR : `${AUDIO_DIR}${n}`));
      this.#audioTracks.set(n, track);
    }
    return track;
  }

  /**
   * The playlists a previous run resolved for the same source and variant, so a resume
   * downloads the very segments the finished files belong to. When the folder holds
   * another source's work, or the audio track its info names is missing or another one,
   * all of it is cleared and undefined returned.
   */
  async loadPlaylist(source: string, variant: VariantChoice): Promise<ResolvedStream | undefined> {
    const saved = await this.#loadMedia(source, variant);
    if (saved) {
      if (saved.info.audio === undefined) {
        // Leftovers of an audio track the saved playlist does not have.
        await this.#removeAudioFolders();
        return withSubtitles({ playlist: saved.playlist }, saved.info);
      }
      const urls = [saved.info.audio, ...(saved.info.moreAudio ?? [])];
      const tracks = await Promise.all(urls.map((_url, n) => this.audioTrack(n).#loadMedia(source, variant)));
      if (tracks.every((track, n) => track && track.playlist.url === urls[n])) {
        const [audio, ...moreAudio] = tracks.map((track) => {
          const playlist = (track as { playlist: MediaPlaylist; info: PlaylistInfo }).playlist;
          const rendition = track?.info.rendition;
          if (rendition) playlist.rendition = rendition;
          return playlist;
        });
        return withSubtitles({ playlist: saved.playlist, ...(audio ? { audio } : {}), ...(moreAudio.length > 0 ? { moreAudio } : {}) }, saved.info);
      }
    }
    await this.clear();
    return undefined;
  }

  async #loadMedia(source: string, variant: VariantChoice): Promise<{ info: PlaylistInfo; playlist: MediaPlaylist } | undefined> {
    try {
      const info = JSON.parse(await readFile(this.path(PLAYLIST_INFO), 'utf8')) as PlaylistInfo;
      if (info.version !== 1 || info.source !== source || info.variant !== String(variant)) return undefined;
      const parsed = parsePlaylist(await readFile(this.path(PLAYLIST_TEXT), 'utf8'), info.url);
      return parsed.kind === 'media' ? { info, playlist: parsed.playlist } : undefined;
    } catch {
      // missing or unreadable: start over
      return undefined;
    }
  }

  /**
   * Saves the resolved playlists for a later resume. Segments may be fetched meanwhile:
   * `commit` (here and in `audio`) waits for the save, so no final segment file exists before
   * its playlist. The audio track is saved first: the main info naming it is what makes it count.
   */
  savePlaylist(source: string, variant: VariantChoice, stream: ResolvedStream): Promise<void> {
    const info: PlaylistInfo = { version: 1, source, variant: String(variant), url: stream.playlist.url };
    if (stream.subtitles) info.subtitles = stream.subtitles.map((p) => ({ url: p.url, text: p.text, ...(p.rendition ? { rendition: p.rendition } : {}) }));
    let saving: Promise<void>;
    if (stream.audio) {
      const audios = [stream.audio, ...(stream.moreAudio ?? [])];
      info.audio = stream.audio.url;
      if (audios.length > 1) info.moreAudio = audios.slice(1).map((a) => a.url);
      const audioSaved = Promise.all(audios.map((audio, n) => {
        const audioInfo: PlaylistInfo = { version: 1, source, variant: String(variant), url: audio.url, ...(audio.rendition ? { rendition: audio.rendition } : {}) };
        const track = this.audioTrack(n);
        const saved = track.create().then(() => track.#writePlaylist(audio.text, audioInfo));
        track.#savedBy(saved);
        return saved;
      }));
      saving = audioSaved.then(() => this.#writePlaylist(stream.playlist.text, info));
    } else {
      saving = this.#writePlaylist(stream.playlist.text, info);
    }
    this.#savedBy(saving);
    return saving;
  }

  async #writePlaylist(text: string, info: PlaylistInfo): Promise<void> {
    await Promise.all([this.#writeAtomically(PLAYLIST_TEXT, text), this.#writeAtomically(PLAYLIST_INFO, `${JSON.stringify(info)}\n`)]);
  }

  #savedBy(saving: Promise<void>): void {
    // Callers await it; commits only wait on it.
    saving.catch(() => {});
    this.#playlistSaved = saving;
  }

  /** Finished files by name. A file whose size disagrees with the manifest is removed, not trusted. */
  async finished(): Promise<Map<string, FinishedFile>> {
    const records = new Map<string, ManifestLine>();
    try {
      for (const line of (await readFile(this.path(MANIFEST), 'utf8')).split('\n')) {
        try {
          const record = JSON.parse(line) as ManifestLine;
          if (typeof record.f === 'string' && typeof record.b === 'number') records.set(record.f, record);
        } catch {
          // a line torn by a crash; its file is checked by size alone
        }
      }
    } catch {
      // no manifest yet
    }
    const found = new Map<string, FinishedFile>();
    for (const name of await readdir(this.dir)) {
      if (!/^(?:seg\d+\.(?:ts|m4s)|init\d*\.mp4)$/.test(name)) continue;
      const { size } = await stat(this.path(name));
      const record = records.get(name);
      if (record && record.b !== size) {
        await unlink(this.path(name)).catch(() => {});
        continue;
      }
      const file: FinishedFile = { bytes: size };
      const lastModified = record?.lm ? new Date(record.lm) : undefined;
      if (lastModified && !Number.isNaN(lastModified.getTime())) file.lastModified = lastModified;
      found.set(name, file);
    }
    return found;
  }

  /**
   * The manifest's lines, in the order they were written, torn ones left out. A live recording
   * keeps its per-segment record (sequence, URI, duration) in them, so nothing of it stays in memory.
   */
  async manifestLines(): Promise<Array<ManifestLine & Record<string, unknown>>> {
    let text: string;
    try {
      text = await readFile(this.path(MANIFEST), 'utf8');
    } catch {
      return [];
    }
    const lines: Array<ManifestLine & Record<string, unknown>> = [];
    for (const line of text.split('\n')) {
      try {
        const record = JSON.parse(line) as ManifestLine & Record<string, unknown>;
        if (typeof record.f === 'string' && typeof record.b === 'number') lines.push(record);
      } catch {
        // torn by a crash
      }
    }
    return lines;
  }

  /** Makes a `.part` file final and notes it in the manifest, with `extra` fields on its line (a live segment's record). */
  async commit(name: string, file: FinishedFile, extra?: Record<string, unknown>): Promise<void> {
    await this.#playlistSaved;
    const manifest = this.#manifest ? await this.#manifest : undefined;
    await rename(this.partPath(name), this.path(name));
    const line: ManifestLine = { ...extra, f: name, b: file.bytes, ...(file.lastModified ? { lm: file.lastModified.toISOString() } : {}) };
    const text = `${JSON.stringify(line)}\n`;
    // O_APPEND: each short write lands whole at the end, so concurrent commits need no lock.
    if (manifest) await this.#append(manifest, text);
    else await appendFile(this.path(MANIFEST), text);
  }

  /** Appends `text` with the next manifest write; lines that arrive while one is in flight go out together. */
  #append(handle: FileHandle, text: string): Promise<void> {
    this.#lines.push(text);
    if (!this.#nextWrite) {
      const write = this.#lastWrite.then(
        () => this.#writeLines(handle),
        () => this.#writeLines(handle),
      );
      this.#nextWrite = write;
      this.#lastWrite = write;
    }
    return this.#nextWrite;
  }

  async #writeLines(handle: FileHandle): Promise<void> {
    this.#nextWrite = undefined;
    const text = this.#lines.join('');
    this.#lines = [];
    await handle.write(text);
  }

  /** Opens the manifest for a run of commits; `close()` when the run ends. */
  openManifest(): Promise<void> {
    if (!this.#manifest) {
      this.#manifest = open(this.path(MANIFEST), 'a');
      // Whoever waits on it sees the failure: the caller, or the next commit.
      this.#manifest.catch(() => {});
    }
    return this.#manifest.then(() => undefined);
  }

  async close(): Promise<void> {
    for (const track of this.#audioTracks.values()) await track.close();
    const opening = this.#manifest;
    this.#manifest = undefined;
    await this.#lastWrite.catch(() => {});
    const handle = await opening?.catch(() => undefined);
    await handle?.close();
  }

  /** Removes this module's files (segments, playlist, manifest, the audio track's folder), nothing else. */
  async clear(): Promise<void> {
    await this.#removeAudioFolders();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    await Promise.all(names.filter((n) => OUR_FILES.test(n)).map((n) => rm(this.path(n), { force: true })));
  }

  async #writeAtomically(name: string, text: string): Promise<void> {
    const temp = this.path(`${name}.${this.#token}.tmp`);
    await writeFile(temp, text);
    await rename(temp, this.path(name));
  }

  async #removeAudioFolders(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    const folders = names.filter((n) => n === AUDIO_DIR || new RegExp(`^${AUDIO_DIR}\\d+$`).test(n));
    await Promise.all(folders.map((n) => rm(this.path(n), { recursive: true, force: true })));
  }
}

function withSubtitles(stream: ResolvedStream, info: PlaylistInfo): ResolvedStream {
  const subtitles = (info.subtitles ?? []).flatMap((saved) => {
    try {
      const parsed = parsePlaylist(saved.text, saved.url);
      if (parsed.kind !== 'media') return [];
      if (saved.rendition) parsed.playlist.rendition = saved.rendition;
      return [parsed.playlist];
    } catch {
      return [];
    }
  });
  return subtitles.length > 0 ? { ...stream, subtitles } : stream;
}
