// A fresh folder under the OS temp dir for one test or suite, and its removal afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TempDir {
  path: string;
  /** Removes the folder and everything in it; a folder already gone is fine. */
  cleanup: () => Promise<void>;
}

/** `prefix` names the folder (`m3u8dm-faults-` → `/tmp/m3u8dm-faults-XXXXXX`), so a leftover tells whose it was. */
export async function tempDir(prefix: string): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { path: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
