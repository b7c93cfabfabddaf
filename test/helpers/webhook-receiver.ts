// A real webhook receiver on 127.0.0.1: records every POST (raw body, headers),
// answers as the test says (a status, a held request that never answers), and can
// go away and come back on the same port, like a receiver being restarted.
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifySignature } from '../../src/webhooks/signature.js';

export interface ReceivedDelivery {
  id: string;
  event: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: { event: string; task: Record<string, unknown> | null; at: string };
  at: number;
}

/** How to answer the next request: a status, or `hold` (never answer). */
export type Answer = number | 'hold';

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedDelivery[];
  /** How the receiver answers; a function decides per request. */
  answer: Answer | ((d: ReceivedDelivery) => Answer);
  /** Deliveries with distinct ids, first arrival each: what a deduping receiver keeps. */
  unique(): ReceivedDelivery[];
  signatureValid(d: ReceivedDelivery, secret: string): boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  const sockets = new Set<Socket>();
  let server: http.Server | undefined;
  let boundPort = port;
  const receiver: WebhookReceiver = {
    url: '',
    received,
    answer: 200,
    unique() {
      const seen = new Set<string>();
      return received.filter((d) => !seen.has(d.id) && seen.add(d.id));
    },
    signatureValid: (d, secret) => verifySignature(d.raw, secret, d.headers['x-m3u8dm-signature'] as string | undefined),
    async start() {
      if (server) return;
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let body: ReceivedDelivery['body'];
          try {
            body = JSON.parse(raw) as ReceivedDelivery['body'];
          } catch {
            body = { event: '(not JSON)', task: null, at: '' };
          }
          const d: ReceivedDelivery = { id: String(req.headers['x-m3u8dm-delivery'] ?? ''), event: String(req.headers['x-m3u8dm-event'] ?? ''), headers: req.headers, raw, body, at: Date.now() };
          received.push(d);
          const answer = typeof receiver.answer === 'function' ? receiver.answer(d) : receiver.answer;
          if (answer === 'hold') return;
          res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
        });
      });
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(boundPort, '127.0.0.1', () => resolve());
      });
      boundPort = (server.address() as AddressInfo).port;
      (receiver as { url: string }).url = `http://127.0.0.1:${boundPort}/hook`;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    close() {
      return receiver.stop();
    },
  };
  await receiver.start();
  return receiver;
}
