// The data folder holds secrets (the proxy password in meta.db, cookies in the task
// headers of tasks.db, URLs with tokens in the logs): it is 0700 and its files 0600,
// made so, and put right on every start in case an older version or a copy left them open.
import { chmod, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (0700) if missing and sets it to 0700 if not. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
}

/** Sets the files (not folders, not links) directly in `dir` to 0600; a missing folder is fine. */
export async function privateFilesIn(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  await Promise.all(entries.filter((e) => e.isFile()).map((e) => chmod(path.join(dir, e.name), PRIVATE_FILE_MODE).catch(() => undefined)));
}
