// Finds the ffmpeg the service runs: the one the user chose (`M3U8DM_FFMPEG`, read
// once by the service config or the CLI and passed in), else `ffmpeg` on PATH, else
// the binary of the optional npm package `@ffmpeg-installer/ffmpeg`. A candidate
// counts only once `ffmpeg -version` ran and said what it is.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { FfmpegNotFoundError } from './errors.js';

const run = promisify(execFile);

export type FfmpegSource = 'env' | 'path' | 'bundled';

export interface FfmpegInfo {
  /** Absolute path of the binary. */
  path: string;
  /** As ffmpeg prints it after `ffmpeg version`, e.g. `6.1.1` or `5.1.9-0+deb12u1`. */
  version: string;
  source: FfmpegSource;
}

const BUNDLED_PACKAGE = '@ffmpeg-installer/ffmpeg';
const VERSION_TIMEOUT_MS = 15_000;

/** One lookup per (chosen ffmpeg, PATH) pair; failures are not cached so installing ffmpeg later helps. */
const cache = new Map<string, Promise<FfmpegInfo>>();

/**
 * Where ffmpeg is and which version it is; cached, so cheap to call per merge or health check.
 * `chosen` is the user's M3U8DM_FFMPEG (a path, or a program name looked up on PATH): when set it
 * is the only candidate; unset or empty, PATH and then the npm-bundled binary are tried.
 */
export function locateFfmpeg(chosen?: string): Promise<FfmpegInfo> {
  const key = `${chosen ?? ''}\0${process.env.PATH ?? ''}`;
  let found = cache.get(key);
  if (!found) {
    found = discover(chosen);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}

/** The version token of `ffmpeg -version` output, or undefined when it is not ffmpeg's. */
export function parseFfmpegVersion(output: string): string | undefined {
  return /^ffmpeg version (\S+)/m.exec(output)?.[1];
}

async function discover(chosen: string | undefined): Promise<FfmpegInfo> {
  if (chosen) return { ...(await probeEnvCandidate(chosen)), source: 'env' };

  const tried: string[] = [];
  const onPath = await findOnPath('ffmpeg');
  if (onPath) {
    const version = await versionOf(onPath).catch((error: unknown) => {
      tried.push(`${onPath} (${describe(error)})`);
      return undefined;
    });
    if (version) return { path: onPath, version, source: 'path' };
  } else {
    tried.push('ffmpeg on PATH (not found)');
  }

  const bundled = await bundledPath().catch((error: unknown) => {
    tried.push(`${BUNDLED_PACKAGE} (${describe(error)})`);
    return undefined;
  });
  if (bundled) {
    const version = await versionOf(bundled).catch((error: unknown) => {
      tried.push(`${bundled} from ${BUNDLED_PACKAGE} (${describe(error)})`);
      return undefined;
    });
    if (version) return { path: bundled, version, source: 'bundled' };
  }

  throw new FfmpegNotFoundError(
    `No usable ffmpeg: install ffmpeg on PATH, set M3U8DM_FFMPEG to its path, or install the optional npm package ${BUNDLED_PACKAGE}. Tried: ${tried.join('; ')}`,
  );
}

/** M3U8DM_FFMPEG is the user's explicit choice: when it does not work, say so instead of using another ffmpeg. */
async function probeEnvCandidate(value: string): Promise<Omit<FfmpegInfo, 'source'>> {
  const isBareName = !value.includes('/') && !value.includes(path.sep);
  const resolved = isBareName ? await findOnPath(value) : path.resolve(value);
  if (!resolved) throw new FfmpegNotFoundError(`M3U8DM_FFMPEG=${value}: no such program on PATH`);
  const info = await stat(resolved).catch(() => undefined);
  if (!info) throw new FfmpegNotFoundError(`M3U8DM_FFMPEG=${value}: no such file`);
  if (!info.isFile()) throw new FfmpegNotFoundError(`M3U8DM_FFMPEG=${value}: not a file`);
  try {
    return { path: resolved, version: await versionOf(resolved) };
  } catch (error) {
    throw new FfmpegNotFoundError(`M3U8DM_FFMPEG=${value}: ${describe(error)}`, { cause: error });
  }
}

async function versionOf(binary: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run(binary, ['-hide_banner', '-version'], { timeout: VERSION_TIMEOUT_MS, windowsHide: true }));
  } catch (error) {
    throw new Error(`\`${binary} -version\` failed: ${describe(error)}`, { cause: error });
  }
  const version = parseFfmpegVersion(stdout);
  if (!version) throw new Error(`\`${binary} -version\` did not print an ffmpeg version line`);
  return version;
}

async function findOnPath(command: string): Promise<string | undefined> {
  const names = process.platform === 'win32' ? [`${command}.exe`, command] : [command];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = path.resolve(dir, name);
      const isExecutable = await access(candidate, constants.X_OK).then(() => true, () => false);
      if (isExecutable && (await stat(candidate)).isFile()) return candidate;
    }
  }
  return undefined;
}

/** The npm package is optional and throws a plain string on unsupported platforms, so every failure is caught. */
async function bundledPath(): Promise<string> {
  // A variable specifier keeps tsc and bundlers from requiring the package at build time.
  const specifier: string = BUNDLED_PACKAGE;
  let loaded: unknown;
  try {
    loaded = await import(specifier);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    throw new Error(code === 'ERR_MODULE_NOT_FOUND' ? 'not installed' : describe(error), { cause: error });
  }
  const binary = pathExport(loaded) ?? pathExport((loaded as { default?: unknown }).default);
  if (!binary) throw new Error('the package exports no `path`');
  return binary;
}

function pathExport(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const candidate = (value as { path?: unknown }).path;
  return typeof candidate === 'string' && candidate ? candidate : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.message;
  return String(error);
}
