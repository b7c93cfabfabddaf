// `/ws/progress`, as the Go original: on change, at most every 100 ms, one
// `{"id","status_bar","progress"}` message per active task; a ping every 5 s.
import type http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TaskEvent, TaskManager } from '../manager/task-manager.js';
import { statusBar } from '../manager/progress-text.js';
import { challengeFor, isAuthorized, type BasicCredentials } from './auth.js';
import type { RequestGuard } from './request-guard.js';

export interface ProgressSocketOptions {
  token?: string;
  basicAuth?: BasicCredentials;
  /** Host allow-list and cross-site refusal, as the HTTP routes have them (a page elsewhere must not listen in). */
  guard?: RequestGuard;
  /** @defaultValue 100 */
  intervalMs?: number;
  /** @defaultValue 5000 */
  keepAliveMs?: number;
}

export interface ProgressMessage {
  id: string;
  status_bar: string;
  progress: number;
  status: string;
}

export function attachProgressSocket(server: http.Server, manager: TaskManager, options: ProgressSocketOptions = {}): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/ws/progress') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const refusal = options.guard?.check(req);
    if (refusal) {
      const body = `${refusal.message}\n`;
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    if (!isAuthorized(req, options.token, options.basicAuth)) {
      socket.end(`HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: ${challengeFor(req, options.token)}\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    const pending = new Map<number, ProgressMessage>();
    const onTask = (event: TaskEvent) => {
      if (event.type === 'deleted') return void pending.delete(event.task.id);
      const t = event.task;
      // The original's socket speaks Chinese, like its /api/tasks.
      pending.set(t.id, { id: String(t.id), status_bar: statusBar(t, 'zh'), progress: t.progress, status: t.status });
    };
    manager.on('task', onTask);
    const flush = setInterval(() => {
      for (const message of pending.values()) ws.send(JSON.stringify(message));
      pending.clear();
    }, options.intervalMs ?? 100);
    let alive = true;
    ws.on('pong', () => { alive = true; });
    const keepAlive = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, options.keepAliveMs ?? 5_000);
    ws.on('close', () => {
      manager.off('task', onTask);
      clearInterval(flush);
      clearInterval(keepAlive);
    });
  });
  return {
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
