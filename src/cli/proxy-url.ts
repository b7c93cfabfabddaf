// `--proxy http://user:pass@host:port` (or https://, socks5://, socks4://) as the
// seed's proxy fields: proxy_type, proxy_host, proxy_port, proxy_username, proxy_password.
import { InvalidArgumentError } from 'commander';
import { checkProxySettings } from '../manager/settings.js';
import type { DownloadSettings, ProxyType } from '../types.js';

export type ProxyFields = Pick<DownloadSettings, 'proxy_type' | 'proxy_host' | 'proxy_port' | 'proxy_username' | 'proxy_password'>;

/** Scheme → proxy_type and the port used when the URL names none. */
const SCHEMES: Record<string, { type: ProxyType; port: number }> = {
  'http:': { type: 'http', port: 80 },
  'https:': { type: 'https', port: 443 },
  // socks5h (names resolved by the proxy) is what the engine does for socks5 anyway.
  'socks5:': { type: 'socks5', port: 1080 },
  'socks5h:': { type: 'socks5', port: 1080 },
  'socks:': { type: 'socks5', port: 1080 },
  'socks4:': { type: 'socks4', port: 1080 },
  'socks4a:': { type: 'socks4', port: 1080 },
};

const EXPECTED = 'expected http://[user:pass@]host:port, https://…, socks5://… or socks4://…';

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Parses a proxy URL; throws InvalidArgumentError (a usage error) saying what was expected. */
export function parseProxyUrl(value: string): ProxyFields {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--proxy is not a URL: ${EXPECTED}, got \`${value}\``);
  }
  const scheme = SCHEMES[url.protocol];
  if (!scheme) throw new InvalidArgumentError(`--proxy scheme \`${url.protocol.replace(/:$/, '')}\` is not supported: ${EXPECTED}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) {
    throw new InvalidArgumentError(`--proxy must be only scheme, credentials, host and port: ${EXPECTED}, got \`${value}\``);
  }
  // The URL parser already refuses a port above 65535; the service's proxy rule does the rest.
  const port = url.port ? Number(url.port) : scheme.port;
  const fields: ProxyFields = {
    proxy_type: scheme.type,
    proxy_host: host,
    proxy_port: port,
    proxy_username: decode(url.username),
    proxy_password: decode(url.password),
  };
  try {
    checkProxySettings(fields);
  } catch (error) {
    throw new InvalidArgumentError(`--proxy \`${value}\`: ${(error as Error).message}`);
  }
  return fields;
}
