// The service's logger. Level from M3U8DM_LOG_LEVEL (tests run `silent`).
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.M3U8DM_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino({
    level,
    base: undefined,
    // Belt and braces: whatever object gets logged, these never reach the log.
    redact: { paths: ['*.proxy_password', '*.*.proxy_password', 'proxy_password', 'req.headers.authorization'], censor: '[redacted]' },
  }, destination);
}
