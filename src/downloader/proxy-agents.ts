// The connection agents of one download: keep-alive agents, optionally through
// an HTTP(S) CONNECT proxy (hpagent) or a SOCKS4/5 proxy (socks-proxy-agent).
import http from 'node:http';
import https from 'node:https';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import type { ProxyOptions, TlsOptions } from './options.js';

export interface ConnectionAgents {
  http: http.Agent;
  https: https.Agent;
  /** `socks5 proxy 127.0.0.1:1080`, for messages; undefined without a proxy. */
  proxyLabel?: string;
  destroy(): void;
}

const SCHEMES = { http: 'http:', https: 'https:', socks5: 'socks5h:', socks4: 'socks4:' } as const;

/**
 * The proxy URL with URL-encoded credentials. The options were checked where the user wrote them
 * (checkProxySettings in src/manager/settings.ts, the CLI's --proxy parser).
 */
export function proxyUrl(proxy: ProxyOptions): string {
  const host = proxy.host.trim();
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const auth = proxy.username ? `${encodeURIComponent(proxy.username)}:${encodeURIComponent(proxy.password)}@` : '';
  return `${SCHEMES[proxy.type]}//${auth}${hostPart}:${proxy.port}`;
}

export function createAgents(proxyOptions: ProxyOptions | undefined, tls: TlsOptions, maxSockets: number): ConnectionAgents {
  const base: http.AgentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' };
  let agents: { http: http.Agent; https: https.Agent };
  if (!proxyOptions) {
    agents = { http: new http.Agent(base), https: new https.Agent(base) };
  } else if (proxyOptions.type === 'http' || proxyOptions.type === 'https') {
    const proxy = proxyUrl(proxyOptions);
    const proxyRequestOptions = { rejectUnauthorized: !tls.allowInsecure };
    agents = {
      http: new HttpProxyAgent({ ...base, proxy, proxyRequestOptions }),
      https: new HttpsProxyAgent({ ...base, proxy, proxyRequestOptions }),
    };
  } else {
    // One SOCKS agent speaks to both kinds of target; it does the TLS itself for https.
    const socks = new SocksProxyAgent(proxyUrl(proxyOptions), base);
    agents = { http: socks, https: socks };
  }
  return {
    ...agents,
    ...(proxyOptions ? { proxyLabel: `${proxyOptions.type} proxy ${proxyOptions.host}:${proxyOptions.port}` } : {}),
    destroy() {
      agents.http.destroy();
      if ((agents.https as http.Agent) !== agents.http) agents.https.destroy();
    },
  };
}
