// `--server` and `--token`, shared by every command that talks to a running service.
import { Command, InvalidArgumentError } from 'commander';
import { ServiceClient } from './client.js';
import { isHttpUrl } from './option-parsers.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

export interface ClientCommandOptions {
  server: string;
  token?: string;
}

function parseServer(value: string): string {
  if (!isHttpUrl(value)) throw new InvalidArgumentError(`--server must be the service's http:// or https:// URL, got \`${value}\``);
  return value;
}

/** A subcommand with `--server` (M3U8DM_URL) and `--token` (M3U8DM_TOKEN). */
export function clientCommand(name: string, env: NodeJS.ProcessEnv = process.env): Command {
  const server = env.M3U8DM_URL || DEFAULT_SERVER;
  const command = new Command(name)
    .option('--server <url>', `URL of the running service (M3U8DM_URL, default ${DEFAULT_SERVER})`, parseServer)
    .option('--token <token>', 'bearer token, when the service requires one (M3U8DM_TOKEN)');
  // An env value is checked like the flag, so a typo in M3U8DM_URL is a usage error too.
  command.hook('preAction', (cmd) => {
    const opts = cmd.opts<Partial<ClientCommandOptions>>();
    if (opts.server === undefined) cmd.setOptionValueWithSource('server', parseEnvServer(cmd, server), 'env');
    if (opts.token === undefined && env.M3U8DM_TOKEN) cmd.setOptionValueWithSource('token', env.M3U8DM_TOKEN, 'env');
  });
  return command;
}

function parseEnvServer(cmd: Command, value: string): string {
  if (!isHttpUrl(value)) cmd.error(`M3U8DM_URL must be the service's http:// or https:// URL, got \`${value}\``, { exitCode: 2, code: 'm3u8dm.invalidEnv' });
  return value;
}

export function clientFrom(opts: ClientCommandOptions): ServiceClient {
  return new ServiceClient({ server: opts.server, token: opts.token });
}
