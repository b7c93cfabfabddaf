// The live channels with a real download: SSE on /api/v1/events and the
// /ws/progress WebSocket, against the real service and a loopback HLS server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ensureFixture } from './helpers/hls-fixtures.js';
import { startHlsServer, type HlsServer } from './helpers/hls-server.js';
import { withService, type TestService } from './helpers/with-service.js';

interface SseEvent { event: string; data: { type: string; task: { id: number; status: number; progress: number; phase: string; segments_done: number; started_at: string | null; completed_at: string | null } } }

/** The SSE throttle this suite's service runs with: well above the manager's 100 ms progress tick. */
const THROTTLE_MS = 400;

/** Reads an SSE stream with fetch until `until` says stop (bounded by the signal). */
async function readEvents(url: string, until: (e: SseEvent) => boolean, signal: AbortSignal, headers: Record<string, string> = {}): Promise<{ events: SseEvent[]; comments: string[] }> {
  const res = await fetch(url, { signal, headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const lines = block.split('\n');
      for (const l of lines) if (l.startsWith(':')) comments.push(l);
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
      if (!event || !data) continue;
      const parsed: SseEvent = { event, data: JSON.parse(data) };
      events.push(parsed);
      if (until(parsed)) return { events, comments };
    }
  }
  return { events, comments };
}

describe('live events of a real download', () => {
  let origin: HlsServer;
  let svc: TestService;
  const token = 'live-token';

  beforeAll(async () => {
    // 60 segments at 2 in flight and 40 ms each: over a second of downloading, several progress ticks.
    const fixture = await ensureFixture('long');
    origin = await startHlsServer({ root: fixture.dir, latencyMs: 40 });
    svc = await withService({ token }, { prefix: 'm3u8dm-live-', deps: { events: { heartbeatMs: 200, throttleMs: THROTTLE_MS } } });
  });
  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await svc?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when the setup failed
    await origin?.close();
  });

  const create = async (filename: string) => {
    const res = await fetch(`${svc.url}/api/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: origin.url('index.m3u8'), filename, options: { download_threads: 2 } }),
    });
    return ((await res.json()) as { data: { task_ids: number[] } }).data.task_ids[0]!;
  };

  it('streams created, throttled updated events through to completion, with heartbeats', async () => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 30_000);
    let id = -1;
    const reading = readEvents(`${svc.url}/api/v1/events?token=${token}`, (e) => e.data.task.id === id && e.data.task.status === 2, ac.signal);
    await new Promise((r) => setTimeout(r, 100));
    id = await create('sse');
    const { events, comments } = await reading;
    clearTimeout(timer);
    ac.abort();
    const mine = events.filter((e) => e.data.task.id === id);
    expect(mine[0]!.event).toBe('task.created');
    const updates = mine.filter((e) => e.event === 'task.updated');
    expect(updates.length).toBeGreaterThan(3);
    const progress = updates.map((e) => e.data.task.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(updates.some((e) => e.data.task.phase === 'downloading' && e.data.task.segments_done > 0)).toBe(true);
    const last = updates.at(-1)!.data.task;
    expect(last).toMatchObject({ status: 2, progress: 100, phase: 'done' });
    // Throttled: running updates go out at least THROTTLE_MS apart on the server, so no more of them
    // than the run's own span allows (the manager ticks every 100 ms: unthrottled, about four times as many).
    // Timed from the record, not on arrival, so a slow reader here cannot spoil it either way.
    const spanMs = Date.parse(last.completed_at!) - Date.parse(last.started_at!);
    const running = updates.filter((e) => e.data.task.status === 1).length;
    expect(running, `${running} running updates over ${spanMs} ms`).toBeLessThanOrEqual(Math.floor(spanMs / THROTTLE_MS) + 2);
    expect(comments.some((c) => c.includes('heartbeat'))).toBe(true);
  });

  it('pushes {id, status_bar, progress} over /ws/progress and refuses a socket without the token', async () => {
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${svc.url.replace('http', 'ws')}/ws/progress`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(401);

    const ws = new WebSocket(`${svc.url.replace('http', 'ws')}/ws/progress?token=${token}`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const messages: { id: string; status_bar: string; progress: number; at: number }[] = [];
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- ws hands a text frame over as a Buffer
    ws.on('message', (raw) => messages.push({ ...JSON.parse(String(raw)), at: Date.now() }));
    const id = String(await create('ws'));
    const deadline = Date.now() + 30_000;
    while (!messages.some((m) => m.id === id && m.progress === 100) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    ws.close();
    const mine = messages.filter((m) => m.id === id);
    expect(mine.at(-1)).toMatchObject({ id, progress: 100 });
    // Chinese, as the original: `[3/5]下载ts 速度 1.2MB/s 剩余时间 0:18`.
    expect(mine.some((m) => m.progress > 0 && m.progress < 100 && /^\[\d+\/\d+\]下载ts/.test(m.status_bar))).toBe(true);
    // at most one message per task per 100 ms tick (a little slack for timer jitter)
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(60);
  });
});
