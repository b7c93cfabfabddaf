// `--server` and `--token`, shared by every command that talks to a running service.
// Without `--server`, the service is found the way it is configured (M3U8DM_URL, HOST/PORT).
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

/**
 * Where the service is, as it was configured: `M3U8DM_URL`, else `HOST`/`PORT` (the variables
 * `m3u8dm serve` listens by), else the default. A wildcard listen address is reached on loopback.
 */
export function serverFromEnv(env: NodeJS.ProcessEnv): { url: string; from: string } {
  if (env.M3U8DM_URL) return { url: env.M3U8DM_URL, from: 'M3U8DM_URL' };
  if (!env.HOST && !env.PORT) return { url: DEFAULT_SERVER, from: 'the default' };
  let host = env.HOST || '127.0.0.1';
  if (host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::' || host === '[::]') host = '::1';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return { url: `http://${host}:${env.PORT || '8080'}`, from: env.HOST && env.PORT ? 'HOST and PORT' : env.HOST ? 'HOST' : 'PORT' };
}

/** A subcommand with `--server` (M3U8DM_URL, else HOST/PORT) and `--token` (M3U8DM_TOKEN). */
export function clientCommand(name: string, env: NodeJS.ProcessEnv = process.env): Command {
  const server = serverFromEnv(env);
  const command = new Command(name)
    .option('--server <url>', `URL of the running service (M3U8DM_URL, else http://HOST:PORT from the environment, default ${DEFAULT_SERVER})`, parseServer)
    .option('--token <token>', 'bearer token, when the service requires one (M3U8DM_TOKEN)');
  // An env value is checked like the flag, so a typo in M3U8DM_URL is a usage error too.
  command.hook('preAction', (cmd) => {
    const opts = cmd.opts<Partial<ClientCommandOptions>>();
    if (opts.server === undefined) cmd.setOptionValueWithSource('server', parseEnvServer(cmd, server), 'env');
    if (opts.token === undefined && env.M3U8DM_TOKEN) cmd.setOptionValueWithSource('token', env.M3U8DM_TOKEN, 'env');
  });
  return command;
}

function parseEnvServer(cmd: Command, server: { url: string; from: string }): string {
  const { url, from } = server;
  const fail = (message: string) => cmd.error(message, { exitCode: 2, code: 'm3u8dm.invalidEnv' });
  if (from === 'M3U8DM_URL') {
    if (!isHttpUrl(url)) fail(`M3U8DM_URL must be the service's http:// or https:// URL, got \`${url}\``);
    return url;
  }
  const port = /:(\d+)$/.exec(url)?.[1];
  if (port === undefined || Number(port) < 1 || Number(port) > 65535) fail(`PORT must be an integer from 1 to 65535 (the service's port), got \`${url.replace(/^.*:/, '')}\``);
  if (!isHttpUrl(url)) fail(`HOST must be the address the service listens on, got \`${url}\` from ${from}`);
  return url;
}

export function clientFrom(opts: ClientCommandOptions): ServiceClient {
  return new ServiceClient({ server: opts.server, token: opts.token });
}
