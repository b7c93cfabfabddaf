// `m3u8dm migrate --from <data dir> --to postgres://…`: moves an embedded store's queue (tasks with
// their ids, settings, integration settings) into PostgreSQL, once, before the instances start on it.
import { Command } from 'commander';
import { ConfigError, parseStoreSpec } from '../service/config.js';
import { copyNedbToPostgres } from '../store/copy-store.js';
import { maskUrl } from '../store/store-errors.js';
import { ExitCode, UsageError } from './errors.js';
import { exitWhenDone } from './run-action.js';

interface MigrateOptions {
  from: string;
  to: string;
}

async function runMigrate(opts: MigrateOptions): Promise<ExitCode> {
  let url: string;
  try {
    const spec = parseStoreSpec(opts.to, '--to');
    if (spec.kind !== 'postgres') throw new ConfigError('--to must be a postgres://user:pass@host:port/db URL (the embedded store is what --from names)');
    url = spec.url;
  } catch (err) {
    throw err instanceof ConfigError ? new UsageError(err.message) : err;
  }
  const counts = await copyNedbToPostgres(opts.from, url);
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  process.stdout.write(
    `copied ${plural(counts.tasks, 'task', 'tasks')}, ${plural(counts.settings, 'settings record', 'settings records')} and ` +
    `${plural(counts.integrations, 'integration settings record', 'integration settings records')} from ${opts.from} to ${maskUrl(url)}` +
    `${counts.topId ? `; new task ids continue after ${counts.topId}` : ''}\n`);
  return ExitCode.ok;
}

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('copy an embedded store (a data dir) into an empty PostgreSQL store, task ids kept')
    .requiredOption('--from <dir>', 'the data dir of the embedded store (M3U8DM_DATA_DIR of the service that used it; stop that service first)')
    .requiredOption('--to <url>', 'the PostgreSQL store: postgres://user:pass@host:port/db (it must have no tasks yet)')
    .addHelpText('after', `
Example:
  m3u8dm migrate --from ./data --to postgres://m3u8dm:secret@db:5432/m3u8dm

Tasks that were downloading are queued again; settings and webhooks/hooks come along.
Then start every instance with M3U8DM_STORE set to the same URL.
Exit: 0 copied, 1 refused or failed (nothing copied), 2 usage error.`)
    .action(exitWhenDone((opts: MigrateOptions) => runMigrate(opts)));
}
