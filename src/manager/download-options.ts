// A task's saved options (the seed's snake_case settings plus the v1 extras) as the
// downloader's own option interfaces (src/downloader/options.ts), built once per run.
// The values were checked where users wrote them (the API's zod schemas, the CLI's
// option parsers, checkProxySettings on the effective settings); what is left here is
// shape, defaults for fields an older record lacks, and parsing the skip expression.
import { DEFAULT_IDLE_TIMEOUT_S } from '../downloader/live-options.js';
import type { DownloadOptions, ProxyOptions } from '../downloader/options.js';
import { parseSkipExpression } from '../downloader/skip-rules.js';
import type { TaskOptions } from '../types.js';
import { DEFAULT_SETTINGS, DEFAULT_TASK_EXTRAS } from './settings.js';

const MIB = 1024 ** 2;

/**
 * The downloader's options for a task. Throws SkipExpressionError when the saved `skip_ts_info`
 * does not parse (it was checked on the way in, so only a record edited by hand gets there).
 */
export function downloadOptionsFor(saved: TaskOptions): DownloadOptions {
  // A record written before a field existed lacks it: it runs with that field's default.
  const options: TaskOptions = { ...DEFAULT_SETTINGS, ...DEFAULT_TASK_EXTRAS, ...saved };
  return {
    concurrency: { threads: options.download_threads },
    retry: { tries: options.retries },
    variant: { variant: options.variant, audio: options.audio ?? 'default', subtitles: options.subtitles ?? 'all' },
    skip: parseSkipExpression(options.skip_ts_info),
    proxy: proxyOf(options),
    tls: { allowInsecure: options.allow_insecure_https },
    headers: { credentialHosts: options.header_hosts ?? [] },
    segments: { maxBytes: options.max_segment_mb * MIB },
    live: {
      start: options.live_start ?? 'window',
      maxDuration: options.live_max_duration,
      idleTimeoutS: options.live_idle_timeout ?? DEFAULT_IDLE_TIMEOUT_S,
      waitS: options.live_wait ?? 0,
    },
  };
}

function proxyOf(options: TaskOptions): ProxyOptions | undefined {
  if (options.proxy_type === 'none') return undefined;
  return {
    type: options.proxy_type,
    host: options.proxy_host.trim(),
    port: options.proxy_port,
    username: options.proxy_username,
    password: options.proxy_password,
  };
}
