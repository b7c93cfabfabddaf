// Names in the save folder: the temporary name a merge writes to, and a final
// name that never overwrites anything (`name.mp4`, `name_1.mp4`, `name_2.mp4`…).
// Names are reserved by creating them exclusively, so two tasks finishing at
// the same moment cannot pick the same one.
import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

const MAX_SUFFIX = 100_000;
const PART_NAME_BYTES = 200;

/**
 * Reserves the first free `filename`, `stem_1.ext`, `stem_2.ext`… in `dir` by creating it empty
 * (exclusive create); returns its absolute path. The caller owns that file: rename the output over it,
 * or remove it when giving up.
 */
export async function uniqueOutputPath(dir: string, filename: string): Promise<string> {
  assertPlainName(filename);
  return reserve(dir, filename, async (candidate) => {
    const handle = await open(candidate, 'wx');
    await handle.close();
  });
}

/** Creates the first free folder `name`, `name_1`, `name_2`… in `dir`; returns its absolute path. */
export async function uniqueDirectory(dir: string, name: string): Promise<string> {
  assertPlainName(name);
  return reserve(dir, name, (candidate) => mkdir(candidate).then(() => undefined));
}

/**
 * The hidden name a merge writes to before the rename, e.g. `.movie.mp4.3f9a1c2e.part`. It is derived from
 * the work folder, so a retry of the same task reuses (and overwrites) its own leftover, while two tasks
 * with the same file name never share one.
 */
export function partPath(saveDir: string, filename: string, workDir: string): string {
  const owner = createHash('sha1').update(path.resolve(workDir)).digest('hex').slice(0, 8);
  // File names may be up to 255 bytes; keep room for the dot and the suffix.
  const shown = Buffer.byteLength(filename) > PART_NAME_BYTES ? Buffer.from(filename).subarray(0, PART_NAME_BYTES).toString() : filename;
  return path.join(path.resolve(saveDir), `.${shown}.${owner}.part`);
}

/** `movie.mp4` → `movie`; the name of the folder of segments that goes with an output. */
export function stemOf(filename: string): string {
  const ext = path.extname(filename);
  return ext ? filename.slice(0, -ext.length) : filename;
}

async function reserve(dir: string, name: string, create: (candidate: string) => Promise<void>): Promise<string> {
  const ext = path.extname(name);
  const stem = stemOf(name);
  for (let n = 0; n <= MAX_SUFFIX; n++) {
    const candidate = path.resolve(dir, n === 0 ? name : `${stem}_${n}${ext}`);
    try {
      await create(candidate);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`No free name for ${name} in ${dir} (tried up to _${MAX_SUFFIX})`);
}

function assertPlainName(name: string): void {
  if (!name || name === '.' || name === '..' || name !== path.basename(name) || name.includes('/')) {
    throw new TypeError(`Expected a file name without folders, got \`${name}\``);
  }
}
