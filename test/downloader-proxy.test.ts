// Downloads through real proxies on loopback: an HTTP CONNECT proxy and a
// SOCKS5 proxy, both with username/password. Their counters prove the traffic
// went through them; a wrong password fails clearly and reaches no server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadStream, ProxyError } from '../src/downloader/index.js';
import type { TaskOptions } from '../src/types.js';
import { downloadOptions } from './helpers/task-options.js';
import { ensureFixture, type FixtureInfo } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { startConnectProxy, startSocks5Proxy, type ProxyCredentials, type TestProxy } from './helpers/proxies.js';
import { tempDir, type TempDir } from './helpers/temp-dir.js';


// Characters that must be URL-encoded inside a proxy URL.
const CREDENTIALS: ProxyCredentials = { username: 'video user', password: 'p@ss:w/rd%' };

let fixture: FixtureInfo;
let server: HlsServer;
let httpProxy: TestProxy;
let socksProxy: TestProxy;
const dirs: TempDir[] = [];

beforeAll(async () => {
  fixture = await ensureFixture('aes-seq');
  server = await startHlsServer({ root: fixture.dir });
  httpProxy = await startConnectProxy(CREDENTIALS);
  socksProxy = await startSocks5Proxy(CREDENTIALS);
});

afterAll(async () => {
  await Promise.all([server.close(), httpProxy.close(), socksProxy.close()]);
  await Promise.all(dirs.map((d) => d.cleanup()));
});

async function viaProxy(proxy: TestProxy, type: TaskOptions['proxy_type'], password = CREDENTIALS.password) {
  const work = await tempDir('m3u8dm-dl-');
  dirs.push(work);
  const workDir = work.path;
  const options = downloadOptions({
    download_threads: 4,
    proxy_type: type, proxy_host: '127.0.0.1', proxy_port: proxy.port,
    proxy_username: CREDENTIALS.username, proxy_password: password,
  });
  return downloadStream({ url: server.url(fixture.playlist), headers: {}, options, workDir, signal: new AbortController().signal, onProgress: () => {} });
}

describe.each([
  ['HTTP CONNECT', 'http', () => httpProxy],
  ['SOCKS5', 'socks5', () => socksProxy],
] as const)('downloader through a %s proxy', (_name, type, proxy) => {
  it('downloads everything through the proxy, reusing its connections', async () => {
    server.requests.length = 0;
    const before = proxy().connections;
    const result = await viaProxy(proxy(), type);

    expect(result.segments).toHaveLength(fixture.segments);
    // playlist + 2 keys + 12 segments, all through tunnels to our server
    expect(server.requests).toHaveLength(15);
    const opened = proxy().connections - before;
    expect(opened).toBeGreaterThanOrEqual(1);
    // keep-alive: at most one tunnel per thread (4), not one per request
    expect(opened).toBeLessThanOrEqual(5);
    expect(proxy().targets.at(-1)).toBe(`127.0.0.1:${server.port}`);
  });

  it('fails clearly with a wrong password, reaching no server', async () => {
    server.requests.length = 0;
    const failuresBefore = proxy().authFailures;
    const attempt = viaProxy(proxy(), type, 'wrong');
    await expect(attempt).rejects.toBeInstanceOf(ProxyError);
    await expect(attempt).rejects.toThrow(
      new RegExp(`^the ${type} proxy 127\\.0\\.0\\.1:${proxy().port} refused the credentials.*check proxy_username and proxy_password$`),
    );
    expect(proxy().authFailures).toBe(failuresBefore + 1);
    expect(server.requests).toHaveLength(0);
  });
});
