// Service configuration from the environment (DESIGN.md's table); CLI flags override.
import path from 'node:path';

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
  /** Tasks downloading at once. @defaultValue 3 */
  maxActive: number;
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

export function configFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  const list = (raw: string | undefined, sep: string) => (raw ?? '').split(sep).map((s) => s.trim()).filter(Boolean);
  const config: ServiceConfig = {
    host: env.HOST || '127.0.0.1',
    port: intFrom(env, 'PORT', 8080, 0, 65535),
    dataDir: env.M3U8DM_DATA_DIR || './data',
    downloadDir: env.M3U8DM_DOWNLOAD_DIR || './downloads',
    saveRoots: list(env.M3U8DM_SAVE_ROOTS, path.delimiter),
    maxActive: intFrom(env, 'M3U8DM_MAX_ACTIVE', 3, 1, 64),
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
