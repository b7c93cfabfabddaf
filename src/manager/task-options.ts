// Turning saved settings + a request's options into a task's job: the options a task
// keeps (create), and the folders it writes to (resolved once per run, checked against
// the allowed roots). The settings→downloader option mapping is download-options.ts.
import path from 'node:path';
import { PathError } from './errors.js';
import { resolveSaveDir } from './paths.js';
import { checkProxySettings, DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS, mergeSettings, TRANSFER_KEYS } from './settings.js';
import type { DownloadSettings, SystemSettings, TaskOptions } from '../types.js';

/** The folders a task may use, as the service was configured. */
export interface FolderRoots {
  dataDir: string;
  downloadDir: string;
  saveRoots: string[];
}

/** Where a task's output goes and where its work folder lives. */
export interface TaskFolders {
  saveDir: string;
  workBase: string;
  /** The work base is the service's own (data dir), so unmarked folders in it may be adopted. */
  ownBase: boolean;
}

const SETTINGS_FIELDS = Object.keys(DEFAULT_SETTINGS) as (keyof DownloadSettings)[];

/**
 * A new task's options: the saved settings, the request's overrides on top when `advanced`
 * (else only the v1 extras), without the service-wide transfer limits; folders and proxy checked.
 */
export function taskOptionsFor(saved: SystemSettings, requested: Partial<TaskOptions>, advanced: boolean, roots: FolderRoots): TaskOptions {
  const picked: Partial<TaskOptions> = {};
  for (const [key, value] of Object.entries(requested) as [keyof TaskOptions, unknown][]) {
    if (value === undefined) continue;
    // Without `advanced` only the v1 extras apply; the seed's settings come from the system.
    if (!advanced && SETTINGS_FIELDS.includes(key as keyof DownloadSettings)) continue;
    (picked as Record<string, unknown>)[key] = value;
  }
  const merged: Partial<SystemSettings> & TaskOptions = { ...DEFAULT_TASK_EXTRAS, ...mergeSettings(saved, picked as Partial<SystemSettings>), ...picked };
  // The service-wide limits are settings, not task options.
  for (const key of TRANSFER_KEYS) delete merged[key];
  const options: TaskOptions = merged;
  if (!picked.proxy_password) options.proxy_password = saved.proxy_password;
  resolveFolders(options, roots);
  checkProxySettings(options);
  return options;
}

/** The save folder and work base of these settings; PathError when they leave the allowed roots. */
export function resolveFolders(options: DownloadSettings, roots: FolderRoots): TaskFolders {
  const { downloadDir, saveRoots, dataDir } = roots;
  const saveDir = resolveSaveDir(options.save_location, downloadDir, saveRoots);
  if (!options.temp_directory) return { saveDir, workBase: path.join(dataDir, 'work'), ownBase: true };
  const workBase = resolveSaveDir(options.temp_directory, dataDir, [downloadDir, ...saveRoots], 'temp_directory');
  // Work folders come and go in it: a folder the user keeps files in (or one holding it) is no place for them.
  for (const root of [downloadDir, ...saveRoots].map((r) => path.resolve(r))) {
    const rel = path.relative(workBase, root);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
      throw new PathError(`temp_directory must be a folder of its own, not the download folder or a save root (nor one holding them): got \`${options.temp_directory}\``, 'temp_directory');
    }
  }
  return { saveDir, workBase, ownBase: false };
}

const SETTINGS_KEYS = new Set<string>(SETTINGS_FIELDS);

/** A request that sets any download setting carries its own settings (`advanced`); one with only the v1 extras does not. */
export function infersAdvanced(options: Partial<TaskOptions>): boolean {
  return Object.keys(options).some((k) => SETTINGS_KEYS.has(k));
}

/** `name_1.mp4` from `name.mp4` (or `name_1` from `name`): the n-th file of a batch sharing one name. */
export function numbered(filename: string, n: number): string {
  const m = /^(.*?)(\.(mp4|mkv|ts))?$/i.exec(filename)!;
  return `${m[1]}_${n}${m[2] ?? ''}`;
}
