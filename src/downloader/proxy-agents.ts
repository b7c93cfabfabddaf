// The connection agents of one download: keep-alive agents, optionally through
// an HTTP(S) CONNECT proxy (hpagent) or a SOCKS4/5 proxy (socks-proxy-agent).
import http from 'node:http';
import https from 'node:https';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import type { TaskOptions } from '../types.js';
import { ProxyError } from './errors.js';

export type ProxySettings = Pick<
  TaskOptions,
  'proxy_type' | 'proxy_host' | 'proxy_port' | 'proxy_username' | 'proxy_password' | 'allow_insecure_https'
>;

export interface ConnectionAgents {
  http: http.Agent;
  https: https.Agent;
  /** `socks5 proxy 127.0.0.1:1080`, for messages; undefined without a proxy. */
  proxyLabel?: string;
  destroy(): void;
}

const SCHEMES = { http: 'http:', https: 'https:', socks5: 'socks5h:', socks4: 'socks4:' } as const;

/** The proxy URL with URL-encoded credentials, or undefined for `none`. */
export function proxyUrl(settings: ProxySettings): string | undefined {
  if (settings.proxy_type === 'none') return undefined;
  const scheme = SCHEMES[settings.proxy_type];
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- options read back from disk are not checked against the type
  if (!scheme) throw new ProxyError(`proxy_type must be none, http, https, socks5 or socks4, got "${String(settings.proxy_type)}"`);
  const host = settings.proxy_host.trim();
  if (!host) throw new ProxyError(`proxy_type is ${settings.proxy_type} but proxy_host is empty`);
  if (!Number.isInteger(settings.proxy_port) || settings.proxy_port < 1 || settings.proxy_port > 65535) {
    throw new ProxyError(`proxy_port must be 1–65535, got ${String(settings.proxy_port)}`);
  }
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const auth = settings.proxy_username
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a task saved by an older version may lack it
    ? `${encodeURIComponent(settings.proxy_username)}:${encodeURIComponent(settings.proxy_password ?? '')}@`
    : '';
  return `${scheme}//${auth}${hostPart}:${settings.proxy_port}`;
}

export function createAgents(settings: ProxySettings, maxSockets: number): ConnectionAgents {
  const base: http.AgentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' };
  const proxy = proxyUrl(settings);
  let agents: { http: http.Agent; https: https.Agent };
  if (!proxy) {
    agents = { http: new http.Agent(base), https: new https.Agent(base) };
  } else if (settings.proxy_type === 'http' || settings.proxy_type === 'https') {
    const proxyRequestOptions = { rejectUnauthorized: !settings.allow_insecure_https };
    agents = {
      http: new HttpProxyAgent({ ...base, proxy, proxyRequestOptions }),
      https: new HttpsProxyAgent({ ...base, proxy, proxyRequestOptions }),
    };
  } else {
    // One SOCKS agent speaks to both kinds of target; it does the TLS itself for https.
    const socks = new SocksProxyAgent(proxy, base);
    agents = { http: socks, https: socks };
  }
  return {
    ...agents,
    ...(proxy ? { proxyLabel: `${settings.proxy_type} proxy ${settings.proxy_host}:${settings.proxy_port}` } : {}),
    destroy() {
      agents.http.destroy();
      if ((agents.https as http.Agent) !== agents.http) agents.https.destroy();
    },
  };
}
