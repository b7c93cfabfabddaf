// What a failed run tells the user (the task's err_msg). The engine's own
// errors (DownloadError, MergeError, PathError…) are written for people and go
// through as they are; a file system error gets a plain phrase; anything else
// is a bug in m3u8dm, and its raw JavaScript text (`Cannot read properties of
// undefined…`) must never reach a user: it becomes an InternalError and the
// original goes to the service log, where a maintainer can find it.
import { DownloadError, isBug } from '../downloader/errors.js';
import { MergeError } from '../merge/errors.js';
import { InternalError } from './errors.js';
import { PathError, SettingsError } from './errors.js';

const FS_PHRASES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  EROFS: 'the file system is read-only',
  ENOENT: 'a folder or file is missing',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EMFILE: 'too many files are open',
  ENAMETOOLONG: 'the file name is too long',
};

/** A file system error from Node (code, syscall, path) in words, or undefined when it is not one. */
function fileSystemMessage(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, path } = error as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof syscall !== 'string' || !/^E[A-Z]+$/.test(code)) return undefined;
  const phrase = FS_PHRASES[code] ?? 'a file operation failed';
  return `${phrase} (${code}, ${syscall}${typeof path === 'string' ? ` ${path}` : ''}); fix it and retry the task, finished segments are kept`;
}

/**
 * The error a failed run is shown as: the typed errors as they are, file system errors in words, and an
 * InternalError for everything else, after handing the original to `report`.
 */
export function userFacingError(error: unknown, report: (original: unknown) => void): Error {
  if (error instanceof DownloadError || error instanceof MergeError || error instanceof PathError || error instanceof SettingsError) {
    // A typed error may still carry a bug's text if a stage wrapped one by mistake; the cause chain tells.
    if (!hasBugInChain(error)) return error;
  } else if (!isBug(error)) {
    const fs = fileSystemMessage(error);
    if (fs) return new DownloadError(fs, { cause: error });
  }
  report(error);
  return new InternalError({ cause: error });
}

function hasBugInChain(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (isBug(e) && (e as Error).message && (error as Error).message.includes((e as Error).message)) return true;
  }
  return false;
}
