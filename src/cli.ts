#!/usr/bin/env node
// The `m3u8dm` binary. `serve` runs the service (what `npm start` runs); the other
// commands download in-process or talk to a running service.
import { Command, InvalidArgumentError } from 'commander';
import { configFromEnv, ConfigError, type ServiceConfig } from './config.js';
import { startService } from './server.js';

const program = new Command();
program.name('m3u8dm').description('HLS (M3U8) download manager').showHelpAfterError();
program.exitOverride((err) => {
  // commander's own usage errors exit 2 (1 is kept for failed downloads and requests).
  process.exit(err.exitCode === 0 ? 0 : 2);
});

export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got \`${value}\``);
    return n;
  };
}

program
  .command('serve')
  .description('run the service (REST API, web page, live progress)')
  .option('--port <port>', 'listen port (PORT, default 8080)', intOption('--port', 0, 65535))
  .option('--host <host>', 'listen address (HOST, default 127.0.0.1)')
  .option('--data-dir <dir>', 'database, work folders and logs (M3U8DM_DATA_DIR, default ./data)')
  .option('--download-dir <dir>', 'default save location (M3U8DM_DOWNLOAD_DIR, default ./downloads)')
  .option('--max-active <n>', 'tasks downloading at once (M3U8DM_MAX_ACTIVE, default 3)', intOption('--max-active', 1, 64))
  .option('--token <token>', 'require this bearer token on /api and /ws (M3U8DM_TOKEN)')
  .action(async (opts: { port?: number; host?: string; dataDir?: string; downloadDir?: string; maxActive?: number; token?: string }) => {
    let config: ServiceConfig;
    try {
      config = configFromEnv(process.env, opts);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`m3u8dm: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    const service = await startService(config);
    process.stdout.write(`m3u8dm listening on ${service.url}\n`);
    const stop = (signal: string) => {
      service.logger.info({ signal }, 'shutting down');
      // DESIGN.md: exit within 5 s whatever happens; finished segments are on disk already.
      setTimeout(() => {
        service.logger.warn('shutdown took too long; exiting');
        process.exit(0);
      }, 4_500).unref();
      service.close().then(() => process.exit(0), (err: unknown) => {
        service.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

await program.parseAsync(process.argv);
