#!/usr/bin/env -S node --max-semi-space-size=1
// (A 1 MB young generation keeps memory flat while segments stream through, see src/service/heap-guard.ts,
// and costs less CPU than 2 MB did (README, benchmarks). `npm start` passes the same flag.)
// The `m3u8dm` binary. `serve` runs the service (what `npm start` runs); `get`
// downloads in this process; the other commands talk to a running service.
// Exit codes: 0 success, 1 a task or request failed, 2 usage error.
import { Command } from 'commander';
import { addCommand } from './cli/add-command.js';
import { ExitCode } from './cli/errors.js';
import { getCommand } from './cli/get-command.js';
import { migrateCommand } from './cli/migrate-command.js';
import { intOption } from './cli/option-parsers.js';
import { taskCommands } from './cli/task-commands.js';
import { watchCommand } from './cli/watch-command.js';
import { configFromEnv, ConfigError, parseStoreSpec, type ServiceConfig } from './service/config.js';
import { VERSION } from './service/version.js';

/**
 * Commander's wording of a rejected value, shortened: our parsers' messages already
 * name the option and the value (`--threads must be an integer from 1 to 128, got `0``).
 */
function shortenUsage(text: string): string {
  const option = /^option '([^\s,]+)[^']*' argument '(.*)' is invalid\. (.*)$/s.exec(text);
  if (option) {
    const [, flag, value, why] = option as unknown as [string, string, string, string];
    return why.includes(flag) ? why : `${flag} \`${value}\`: ${why}`;
  }
  const argument = /^command-argument value '.*' is invalid for argument '[^']*'\. (.*)$/s.exec(text);
  return argument ? argument[1]! : text;
}

/** Commander's `error: …` (and its `(Did you mean …?)`) as one line that says where to look. */
function usageLine(command: Command) {
  return (message: string, write: (text: string) => void) => {
    const text = shortenUsage(message.replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ').trim());
    const help = command.parent ? `m3u8dm ${command.name()} --help` : 'm3u8dm --help';
    write(`m3u8dm: ${text} — see \`${help}\`\n`);
  };
}

function configure(command: Command): Command {
  command
    .configureOutput({ outputError: usageLine(command) })
    .exitOverride((err) => {
      // commander's own usage errors exit 2 (1 is kept for failed downloads and requests).
      process.exit(err.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
    });
  return command;
}

const program = configure(new Command());
program.name('m3u8dm').description('HLS (M3U8) download manager').version(VERSION, '-V, --version');

configure(program.command('serve'))
  .description('run the service (REST API, web page, live progress)')
  .option('--port <port>', 'listen port (PORT, default 8080)', intOption('--port', 0, 65535))
  .option('--host <host>', 'listen address (HOST, default 127.0.0.1)')
  .option('--data-dir <dir>', 'database, work folders and logs (M3U8DM_DATA_DIR, default ./data)')
  .option('--download-dir <dir>', 'default save location (M3U8DM_DOWNLOAD_DIR, default ./downloads)')
  .option('--max-active <n>', 'tasks downloading at once, 0: API only (M3U8DM_MAX_ACTIVE, default 3)', intOption('--max-active', 0, 64))
  .option('--token <token>', 'require this bearer token on /api and /ws (M3U8DM_TOKEN)')
  .option('--store <spec>', 'where tasks live: nedb (in the data dir) or postgres://user:pass@host:port/db (M3U8DM_STORE, default nedb)')
  .action(async (opts: { port?: number; host?: string; dataDir?: string; downloadDir?: string; maxActive?: number; token?: string; store?: string }) => {
    let config: ServiceConfig;
    try {
      const store = opts.store === undefined ? undefined : parseStoreSpec(opts.store, '--store');
      config = configFromEnv(process.env, { ...opts, store });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`m3u8dm: ${err.message}\n`);
        process.exit(ExitCode.usage);
      }
      throw err;
    }
    // Loaded here so the other commands start without the whole service.
    const { startService } = await import('./service/server.js');
    let service: Awaited<ReturnType<typeof startService>>;
    try {
      service = await startService(config);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? `${config.host}:${config.port} is already in use; stop what listens there or pass --port (PORT)` : e.message;
      process.stderr.write(`m3u8dm: cannot start: ${why}\n`);
      process.exit(ExitCode.failed);
    }
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

for (const command of [getCommand(), addCommand(), ...taskCommands(), watchCommand(), migrateCommand()]) {
  program.addCommand(configure(command));
}

program.addHelpText('after', `
Examples:
  m3u8dm get https://example.com/video/index.m3u8 -o video.mp4   download here, no service
  m3u8dm serve                                                    run the service (web page, API)
  m3u8dm add -f urls.txt --wait                                   queue a list and follow it
  m3u8dm ls --status failed --json                                tasks for scripts
  m3u8dm migrate --from ./data --to postgres://u:p@db/m3u8dm      move the queue to PostgreSQL

Client commands use --server (M3U8DM_URL, else http://HOST:PORT from the environment, default http://127.0.0.1:8080) and --token (M3U8DM_TOKEN).
Exit codes: 0 success, 1 a task or request failed, 2 usage error.`);

await program.parseAsync(process.argv);
