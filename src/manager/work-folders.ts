// Each task's work folder (its segments while it downloads), made so that the service
// only ever uses, and removes, folders it created itself. A folder is created
// exclusively (mode 0700) with a marker file naming its task; a folder of that name
// which is not ours (a user's `26/`) is passed over for `26_1`, and a folder without
// our marker is never removed, whatever a settings value or a tampered database says.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkFolderError } from './errors.js';

/** The file in a work folder that says which task made it. */
export const WORK_MARKER = '.m3u8dm-task';
/** Folders tried per task before giving up (`26`, `26_1`, … `26_99`). */
const MAX_CANDIDATES = 100;

/** A task id fit to name a folder: a positive safe integer, nothing a damaged record could smuggle in. */
export function isTaskId(id: unknown): id is number {
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
}

function assertTaskId(id: unknown): asserts id is number {
  if (!isTaskId(id)) throw new WorkFolderError(`task id \`${String(id).slice(0, 40)}\` is not a positive integer; the task record is damaged`);
}

function candidates(base: string, id: number): string[] {
  return Array.from({ length: MAX_CANDIDATES }, (_, k) => path.join(base, k === 0 ? String(id) : `${id}_${k}`));
}

/** Whether `dir` is a real folder (not a link) carrying our marker for task `id`. */
export async function isOurWorkFolder(dir: string, id: number): Promise<boolean> {
  try {
    const [folder, marker] = await Promise.all([lstat(dir), lstat(path.join(dir, WORK_MARKER))]);
    if (!folder.isDirectory() || !marker.isFile()) return false;
    return (await readFile(path.join(dir, WORK_MARKER), 'utf8')).split('\n')[0] === `task ${id}`;
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

export interface WorkFolderOptions {
  /**
   * Folders of the service's own base (`<data dir>/work`) made before markers existed are
   * adopted, so an upgrade keeps resuming them; elsewhere an unmarked folder is never ours.
   */
  adoptUnmarked?: boolean;
}

/**
 * The task's work folder under `base`: `known` (from the record) when it is still ours, else
 * the first of `base/<id>`, `base/<id>_1`… that is ours, else a new one created there.
 */
export async function openWorkFolder(base: string, id: number, known: string | undefined, options: WorkFolderOptions = {}): Promise<string> {
  assertTaskId(id);
  const root = path.resolve(base);
  if (known && path.dirname(path.resolve(known)) === root && (await isOurWorkFolder(known, id))) return path.resolve(known);
  await mkdir(root, { recursive: true, mode: 0o700 });
  for (const dir of candidates(root, id)) {
    if (await isOurWorkFolder(dir, id)) return dir;
    if (await exists(dir)) {
      const st = await lstat(dir);
      if (options.adoptUnmarked && st.isDirectory() && !(await exists(path.join(dir, WORK_MARKER)))) {
        await writeFile(path.join(dir, WORK_MARKER), `task ${id}\n`, { flag: 'wx', mode: 0o600 });
        return dir;
      }
      continue; // someone else's: leave it alone
    }
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue; // taken meanwhile
      throw error;
    }
    await writeFile(path.join(dir, WORK_MARKER), `task ${id}\n`, { flag: 'wx', mode: 0o600 });
    return dir;
  }
  throw new WorkFolderError(`no free work folder for task ${id} in ${root} (tried ${id} to ${id}_${MAX_CANDIDATES - 1})`);
}

/** Removes the task's work folders under `base` that carry its marker; anything else stays. */
export async function removeWorkFolders(base: string, id: number, known: string | undefined): Promise<void> {
  if (!isTaskId(id)) return;
  const root = path.resolve(base);
  const dirs = new Set(candidates(root, id));
  if (known && path.dirname(path.resolve(known)) === root) dirs.add(path.resolve(known));
  for (const dir of dirs) {
    if (await isOurWorkFolder(dir, id)) await rm(dir, { recursive: true, force: true });
  }
}

/** Folders of finished tasks waiting to be removed: `.m3u8dm-done-<task id>-<random>`, beside the others. */
const SET_ASIDE = /^\.m3u8dm-done-(\d+)-[0-9a-f]{8}$/;

/**
 * Moves a finished task's work folder out of the way in one rename, so the task is announced without
 * waiting for its segments' removal (hundreds of unlinks, 20–60 ms for 200): its caller removes the
 * returned folder afterwards, and a new run of the task meanwhile gets a fresh folder. Undefined when it
 * cannot be renamed; then it is removed at once.
 */
export async function setAsideWorkFolder(dir: string, id: number): Promise<string | undefined> {
  const aside = path.join(path.dirname(dir), `.m3u8dm-done-${id}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(dir, aside);
    return aside;
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
}

/** Removes what set-aside folders a crash left in `base` (ours only: named so and carrying the task's marker). */
export async function removeSetAside(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    const id = Number(SET_ASIDE.exec(name)?.[1]);
    const dir = path.join(base, name);
    if (isTaskId(id) && (await isOurWorkFolder(dir, id))) await rm(dir, { recursive: true, force: true });
  }
}
