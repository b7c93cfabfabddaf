// Where files may go: file names made safe, save locations kept inside the allowed
// roots (symlinks included), and each task's work folder.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { OutputFormat } from '../types.js';
import { PathError } from './errors.js';

const MAX_NAME_BYTES = 200;

/**
 * Characters no file name or path setting may hold: C0 and C1 controls, DEL, the Unicode line and
 * paragraph separators, and the bidirectional controls that make `evil\u202egpj.exe` show as `…exe`.
 */
// eslint-disable-next-line no-control-regex
export const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Throws a PathError naming `field` when `value` holds a character of UNSAFE_CHARACTERS. */
export function assertNoControlCharacters(value: string, field: string): void {
  const found = value.match(UNSAFE_CHARACTERS);
  if (found) {
    const code = `U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw new PathError(`${field} must not contain control characters (line breaks, C1 or bidirectional controls), found ${code}`, field);
  }
}

/**
 * A file name with no directory part: separators, `..`, control and reserved
 * characters are replaced, the extension of the format is added when missing.
 */
export function sanitizeFilename(name: string, format: OutputFormat = 'mp4'): string {
  const ext = `.${format}`;
  let safe = name
    .normalize('NFC')
    .replace(UNSAFE_CHARACTERS, '')
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  // A media extension of another container is swapped, not stacked (`clip.mp4` as mkv is `clip.mkv`).
  safe = safe.replace(/\.(mp4|mkv|ts)$/i, (found) => (found.toLowerCase() === ext ? found : ''));
  if (!safe.toLowerCase().endsWith(ext)) safe += ext;
  // Keep within common file system limits, cutting on a character boundary.
  while (Buffer.byteLength(safe) > MAX_NAME_BYTES) {
    const base = safe.slice(0, -ext.length);
    safe = Array.from(base).slice(0, -1).join('') + ext;
  }
  return safe === ext ? `video${ext}` : safe;
}

/** Resolves symlinks of the longest existing prefix, so a link inside a root pointing outside is caught. */
function realpathOfExisting(target: string): string {
  let existing = target;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(existing), ...rest.reverse());
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return target;
      rest.push(path.basename(existing));
      existing = parent;
    }
  }
}

function isInside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The absolute folder a task saves into. Empty means the download dir; a relative
 * path is taken from the download dir. Anything resolving outside `roots` (after
 * symlinks) is a PathError naming `field`.
 */
export function resolveSaveDir(input: string, downloadDir: string, roots: string[], field = 'save_location'): string {
  const raw = input.trim();
  if (raw.includes('\0')) throw new PathError(`${field} must not contain NUL bytes`, field);
  assertNoControlCharacters(raw, field);
  const resolved = raw === '' ? path.resolve(downloadDir) : path.resolve(downloadDir, raw);
  const real = realpathOfExisting(resolved);
  const allowed = [downloadDir, ...roots].map((r) => path.resolve(r));
  const ok = allowed.some((root) => isInside(resolved, root) && isInside(real, realpathOfExisting(root)));
  if (!ok) {
    throw new PathError(`${field} must be inside ${allowed.join(' or ')} (set M3U8DM_SAVE_ROOTS to allow more), got \`${input}\``, field);
  }
  return resolved;
}

const GENERIC_NAMES = new Set(['index', 'playlist', 'master', 'main', 'chunklist', 'prog_index', 'video', 'stream', 'manifest']);

/** A file name (without extension) for a URL when the client gave none: the last meaningful path part. */
export function filenameFromUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'video';
  }
  const parts = parsed.pathname.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const names = parts.map((p) => p.replace(/\.(m3u8?|html?|php|aspx?)$/i, ''));
  for (let i = names.length - 1; i >= 0; i--) {
    const name = names[i]!;
    if (name && !GENERIC_NAMES.has(name.toLowerCase())) return name;
  }
  return parsed.hostname || 'video';
}
