// Real proxies on 127.0.0.1 for the downloader's proxy tests: an HTTP CONNECT
// proxy and a SOCKS5 proxy, both with username/password auth, both counting
// what went through them. They only tunnel to loopback targets.
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';

export interface ProxyCredentials {
  username: string;
  password: string;
}

export interface TestProxy {
  readonly port: number;
  /** Tunnels opened to a target (after auth succeeded). */
  readonly connections: number;
  /** Attempts refused for wrong or missing credentials. */
  readonly authFailures: number;
  /** Targets tunnelled to, as `host:port`. */
  readonly targets: string[];
  /** The `Proxy-Authorization` of every CONNECT, as received (undefined when none was sent); HTTP proxy only. */
  readonly authHeaders?: (string | undefined)[];
  close(): Promise<void>;
}

const isLoopback = (host: string) => ['127.0.0.1', 'localhost', '::1', '0:0:0:0:0:0:0:1'].includes(host);

interface Tracker {
  sockets: Set<Socket>;
  track(socket: Socket): void;
  closeAll(): void;
}

function tracker(): Tracker {
  const sockets = new Set<Socket>();
  return {
    sockets,
    track(socket) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    },
    closeAll() {
      for (const s of sockets) s.destroy();
    },
  };
}

/** Joins two sockets both ways and tears both down when either ends badly. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

/** An HTTP proxy that answers CONNECT (what hpagent uses for http and https targets) with Basic auth. */
export async function startConnectProxy(credentials: ProxyCredentials): Promise<TestProxy> {
  const open = tracker();
  const targets: string[] = [];
  const authHeaders: (string | undefined)[] = [];
  let connections = 0;
  let authFailures = 0;
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;

  const server = http.createServer((_req, res) => {
    res.writeHead(405, { 'content-type': 'text/plain' }).end('this test proxy only tunnels (CONNECT)');
  });
  server.on('connection', (socket: Socket) => open.track(socket));
  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    authHeaders.push(req.headers['proxy-authorization']);
    if (req.headers['proxy-authorization'] !== expected) {
      authFailures++;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host = '', portText = ''] = (req.url ?? '').split(/:(?=\d+$)/);
    if (!isLoopback(host.replace(/^\[|\]$/g, ''))) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = net.connect(Number(portText), host.replace(/^\[|\]$/g, ''), () => {
      connections++;
      targets.push(`${host}:${portText}`);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      splice(client, upstream);
    });
    open.track(upstream);
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    get connections() { return connections; },
    get authFailures() { return authFailures; },
    targets,
    authHeaders,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      open.closeAll();
      await closed;
    },
  };
}

/** Reads exact byte counts from a socket, for the SOCKS handshake. */
class ByteReader {
  #buffered = Buffer.alloc(0);
  #waiting: (() => void) | undefined;
  #ended = false;

  constructor(socket: Socket) {
    socket.on('data', this.#onData);
    socket.on('close', () => {
      this.#ended = true;
      this.#waiting?.();
    });
  }

  readonly #onData = (chunk: Buffer) => {
    this.#buffered = Buffer.concat([this.#buffered, chunk]);
    this.#waiting?.();
  };

  async read(n: number): Promise<Buffer> {
    while (this.#buffered.length < n) {
      if (this.#ended) throw new Error('client went away during the handshake');
      await new Promise<void>((resolve) => { this.#waiting = resolve; });
      this.#waiting = undefined;
    }
    const out = this.#buffered.subarray(0, n);
    this.#buffered = this.#buffered.subarray(n);
    return out;
  }

  /** Stops reading and hands back whatever came after the handshake. */
  detach(socket: Socket): Buffer {
    socket.off('data', this.#onData);
    return this.#buffered;
  }
}

/** A SOCKS5 proxy (RFC 1928) that insists on username/password auth (RFC 1929). */
export async function startSocks5Proxy(credentials: ProxyCredentials): Promise<TestProxy> {
  const open = tracker();
  const targets: string[] = [];
  let connections = 0;
  let authFailures = 0;

  const handshake = async (client: Socket): Promise<void> => {
    const reader = new ByteReader(client);
    const [version = 0, methodCount = 0] = await reader.read(2);
    const methods = await reader.read(methodCount);
    if (version !== 5 || !methods.includes(0x02)) {
      authFailures++;
      client.end(Buffer.from([5, 0xff]));
      return;
    }
    client.write(Buffer.from([5, 0x02]));

    const [, userLength = 0] = await reader.read(2);
    const username = (await reader.read(userLength)).toString('utf8');
    const [passwordLength = 0] = await reader.read(1);
    const password = (await reader.read(passwordLength)).toString('utf8');
    if (username !== credentials.username || password !== credentials.password) {
      authFailures++;
      client.end(Buffer.from([1, 1]));
      return;
    }
    client.write(Buffer.from([1, 0]));

    const [, command = 0, , addressType = 0] = await reader.read(4);
    let host: string;
    if (addressType === 1) host = [...(await reader.read(4))].join('.');
    else if (addressType === 3) host = (await reader.read((await reader.read(1))[0] ?? 0)).toString('utf8');
    else if (addressType === 4) host = formatIpv6(await reader.read(16));
    else host = '';
    const port = (await reader.read(2)).readUInt16BE(0);
    const reply = (code: number) => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
    if (command !== 1) {
      client.end(reply(0x07));
      return;
    }
    if (!isLoopback(host)) {
      client.end(reply(0x02));
      return;
    }
    const upstream = net.connect(port, host, () => {
      connections++;
      targets.push(`${host}:${port}`);
      client.write(reply(0));
      const early = reader.detach(client);
      if (early.length > 0) upstream.write(early);
      splice(client, upstream);
    });
    open.track(upstream);
    upstream.on('error', () => client.end(reply(0x05)));
  };

  const server = net.createServer((client) => {
    open.track(client);
    client.on('error', () => {});
    handshake(client).catch(() => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    get connections() { return connections; },
    get authFailures() { return authFailures; },
    targets,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      open.closeAll();
      await closed;
    },
  };
}

function formatIpv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}
