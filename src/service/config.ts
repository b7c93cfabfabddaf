// Service configuration from the environment (DESIGN.md's table); CLI flags override.
import os from 'node:os';
import path from 'node:path';
import type { StoreSpec } from '../store/open-store.js';

export interface ServiceConfig {
  /** @defaultValue '127.0.0.1' */
  host: string;
  /** @defaultValue 8080 */
  port: number;
  /** Database, work folders of segments, logs. @defaultValue './data' */
  dataDir: string;
  /** Default save location. @defaultValue './downloads' */
  downloadDir: string;
  /** Extra folders a task may save into (`M3U8DM_SAVE_ROOTS`, a path list). */
  saveRoots: string[];
  /**
   * Where tasks and settings live (`M3U8DM_STORE`, `serve --store`): the embedded nedb store in the data
   * dir, or a PostgreSQL database several instances share. @defaultValue `{ kind: 'nedb' }`
   */
  store: StoreSpec;
  /** Tasks this instance downloads at once; 0 makes an API-only node (API and page, no downloads). @defaultValue 3 */
  maxActive: number;
  /** This instance's name in task leases and `/api/v1/health` (`M3U8DM_NODE_ID`). @defaultValue `${hostname}-${pid}` */
  nodeId: string;
  /** How long a task's lease lasts unless renewed (`M3U8DM_LEASE_S`, seconds); the heartbeat runs at a third of it. @defaultValue 30 s */
  leaseMs: number;
  /** Bearer token required on /api and /ws when set. */
  token?: string;
  /** A Basic user/password pair accepted on /api and /ws (`M3U8DM_AUTH_USER` + `M3U8DM_AUTH_PASS`). */
  basicAuth?: { user: string; pass: string };
  /** Largest JSON body accepted, in bytes. @defaultValue 1 MiB */
  bodyLimit: number;
  /** Origins allowed to call the API from a browser page elsewhere (`M3U8DM_CORS_ORIGINS`); none by default. */
  corsOrigins: string[];
  /** Extra `Host` names the service answers to (`M3U8DM_ALLOWED_HOSTS`); `*` for any. The DNS-rebinding guard. */
  allowedHosts: string[];
  /** Free space a download keeps on the disk of its work folder (`M3U8DM_MIN_FREE_MB`); a segment does not start below it. @defaultValue 16 MiB */
  minFreeBytes: number;
  logLevel: string;
  /** First webhook retry wait, doubling up to the cap (`M3U8DM_WEBHOOK_RETRY_BASE_MS`). @defaultValue 10000 */
  webhookRetryBaseMs: number;
  /** Longest wait between two webhook attempts (`M3U8DM_WEBHOOK_RETRY_CAP_MS`). @defaultValue 1 hour */
  webhookRetryCapMs: number;
  /** Time limit of one webhook attempt (`M3U8DM_WEBHOOK_TIMEOUT_MS`). @defaultValue 10000 */
  webhookTimeoutMs: number;
  /** A hook (on_complete/on_fail) still running after this is killed (`M3U8DM_HOOK_TIMEOUT_MS`). @defaultValue 60000 */
  hookTimeoutMs: number;
  /** The ffmpeg to run (`M3U8DM_FFMPEG`: a path or a program name); unset: `ffmpeg` on PATH, else the npm-bundled one. */
  ffmpeg?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'ERR_CONFIG';
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got \`${raw}\``);
  }
  return value;
}

/** A node id is written into every lease and shown on the API: printable, no spaces, bounded. */
function nodeIdFrom(env: NodeJS.ProcessEnv): string {
  const raw = env.M3U8DM_NODE_ID;
  if (raw === undefined || raw === '') return `${os.hostname()}-${process.pid}`;
  if (!/^[\x21-\x7e]{1,128}$/.test(raw)) {
    throw new ConfigError(`M3U8DM_NODE_ID must be 1–128 printable ASCII characters without spaces, got \`${raw.slice(0, 40)}\``);
  }
  return raw;
}

/** A store spec as it may be shown: a URL's password masked, also when the URL does not parse. */
function shownSpec(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    if (raw.includes('://')) return u.toString();
  } catch { /* masked below */ }
  return raw.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?[^:/@]*):[^@]*@/i, '$1:***@');
}

/**
 * `nedb` (or nothing) → the embedded store; `postgres://…` / `postgresql://…` → PostgreSQL. `name` is the
 * variable or flag the value came from, for the message.
 */
export function parseStoreSpec(raw: string | undefined, name = 'M3U8DM_STORE'): StoreSpec {
  const value = (raw ?? '').trim();
  if (value === '' || value === 'nedb') return { kind: 'nedb' };
  const expected = `${name} must be \`nedb\` or a postgres://user:pass@host:port/db URL`;
  if (!/^postgres(ql)?:\/\//i.test(value)) throw new ConfigError(`${expected}, got \`${shownSpec(value)}\``);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${expected}; \`${shownSpec(value)}\` is not a valid URL`);
  }
  // pg also takes the host as a query parameter (a unix socket folder).
  if (!url.hostname && !url.searchParams.get('host')) throw new ConfigError(`${expected}; \`${shownSpec(value)}\` names no host`);
  return { kind: 'postgres', url: value };
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  const list = (raw: string | undefined, sep: string) => (raw ?? '').split(sep).map((s) => s.trim()).filter(Boolean);
  const config: ServiceConfig = {
    host: env.HOST || '127.0.0.1',
    port: intFrom(env, 'PORT', 8080, 0, 65535),
    dataDir: env.M3U8DM_DATA_DIR || './data',
    downloadDir: env.M3U8DM_DOWNLOAD_DIR || './downloads',
    saveRoots: list(env.M3U8DM_SAVE_ROOTS, path.delimiter),
    // A flag given wins over the variable, even a malformed one.
    store: overrides.store ?? parseStoreSpec(env.M3U8DM_STORE),
    maxActive: intFrom(env, 'M3U8DM_MAX_ACTIVE', 3, 0, 64),
    nodeId: nodeIdFrom(env),
    leaseMs: intFrom(env, 'M3U8DM_LEASE_S', 30, 1, 3600) * 1000,
    token: env.M3U8DM_TOKEN || undefined,
    bodyLimit: intFrom(env, 'M3U8DM_BODY_LIMIT', 1 << 20, 1024, 64 << 20),
    corsOrigins: list(env.M3U8DM_CORS_ORIGINS, ','),
    allowedHosts: list(env.M3U8DM_ALLOWED_HOSTS, ','),
    minFreeBytes: intFrom(env, 'M3U8DM_MIN_FREE_MB', 16, 0, 16 * 1024 * 1024) * 1024 ** 2,
    logLevel: env.M3U8DM_LOG_LEVEL || 'info',
    webhookRetryBaseMs: intFrom(env, 'M3U8DM_WEBHOOK_RETRY_BASE_MS', 10_000, 10, 3_600_000),
    webhookRetryCapMs: intFrom(env, 'M3U8DM_WEBHOOK_RETRY_CAP_MS', 3_600_000, 10, 86_400_000),
    webhookTimeoutMs: intFrom(env, 'M3U8DM_WEBHOOK_TIMEOUT_MS', 10_000, 100, 300_000),
    hookTimeoutMs: intFrom(env, 'M3U8DM_HOOK_TIMEOUT_MS', 60_000, 100, 86_400_000),
    ffmpeg: env.M3U8DM_FFMPEG || undefined,
    // Typed without undefined, but a caller may well pass `{ token: undefined }`.
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]: [string, unknown]) => v !== undefined)),
  };
  if (!('basicAuth' in overrides)) {
    const user = env.M3U8DM_AUTH_USER ?? '';
    const pass = env.M3U8DM_AUTH_PASS ?? '';
    if (Boolean(user) !== Boolean(pass)) {
      throw new ConfigError(`M3U8DM_AUTH_USER and M3U8DM_AUTH_PASS go together: set both or neither (got only ${user ? 'M3U8DM_AUTH_USER' : 'M3U8DM_AUTH_PASS'})`);
    }
    if (user.includes(':')) throw new ConfigError('M3U8DM_AUTH_USER must not contain ":" (HTTP Basic splits the user from the password there)');
    if (user) config.basicAuth = { user, pass };
  }
  config.dataDir = path.resolve(config.dataDir);
  config.downloadDir = path.resolve(config.downloadDir);
  config.saveRoots = config.saveRoots.map((p) => path.resolve(p));
  return config;
}
