// `m3u8dm watch`: the service's tasks live, from its events stream — a table
// redrawn in place on a terminal, one line per change otherwise, NDJSON with --json.
import type { Command } from 'commander';
import { formatBytes } from '../manager/progress-text.js';
import type { ServiceClient, V1Task } from './client.js';
import { clientCommand, clientFrom, type ClientCommandOptions } from './client-options.js';
import { ExitCode } from './errors.js';
import { formatTaskTable, truncate } from './output.js';
import { exitWhenDone } from './run-action.js';
import { createLineBoard } from './task-board.js';

interface WatchOptions extends ClientCommandOptions {
  json?: boolean;
}

/** Tasks shown at the start (newest first); later ones join as they are created. */
const INITIAL_TASKS = 100;
const REDRAW_MS = 200;

const CLEAR = '\x1b[H\x1b[J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/** The table a terminal shows: a summary line, then the newest tasks that fit. */
export function renderWatchScreen(server: string, tasks: V1Task[], columns: number, rows: number): string {
  const sorted = [...tasks].sort((a, b) => b.id - a.id);
  const count = (status: string) => sorted.filter((t) => t.status_text === status).length;
  const speed = sorted.reduce((sum, t) => sum + (t.status_text === 'running' ? t.speed_bps : 0), 0);
  const summary = `m3u8dm watch · ${server} · ${sorted.length} tasks · ${count('running')} running · ${count('pending')} pending · ` +
    `${count('failed')} failed · ${formatBytes(speed)}/s · Ctrl-C to quit`;
  const room = Math.max(1, rows - 3);
  const shown = sorted.slice(0, room);
  const more = sorted.length > shown.length ? `… and ${sorted.length - shown.length} more (m3u8dm ls)\n` : '';
  const table = shown.length ? formatTaskTable(shown, columns) : 'no tasks yet\n';
  return `${truncate(summary, columns)}\n\n${table}${more}`;
}

async function runWatch(opts: WatchOptions): Promise<ExitCode> {
  const client: ServiceClient = clientFrom(opts);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out = process.stdout;
  const live = out.isTTY && !opts.json;
  const tasks = new Map<number, V1Task>();
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    timer = undefined;
    out.write(CLEAR + renderWatchScreen(client.server, [...tasks.values()], out.columns || 80, out.rows || 24));
  };
  const redrawSoon = () => {
    timer ??= setTimeout(draw, REDRAW_MS);
  };
  const lines = createLineBoard(out);
  try {
    // The stream first, then the list: nothing that happens in between is missed.
    const events = await client.events(stop.signal);
    for (const task of await client.listAll({}, INITIAL_TASKS)) tasks.set(task.id, task);
    if (live) {
      out.write(HIDE_CURSOR);
      draw();
    } else if (!opts.json) {
      for (const task of [...tasks.values()].reverse()) lines.update(task);
    }
    for await (const event of events) {
      if (event.type === 'task.deleted') tasks.delete(event.task.id);
      else tasks.set(event.task.id, event.task);
      if (opts.json) out.write(`${JSON.stringify(event)}\n`);
      else if (live) redrawSoon();
      else if (event.type === 'task.deleted') lines.deleted(event.task.id);
      else lines.update(event.task);
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (timer) clearTimeout(timer);
    if (live) out.write(SHOW_CURSOR);
  }
  // Ctrl-C is how watch is meant to end.
  if (stop.signal.aborted) return ExitCode.ok;
  process.stderr.write(`m3u8dm: the service at ${client.server} closed the event stream — once it runs again, start \`m3u8dm watch\` again\n`);
  return ExitCode.failed;
}

export function watchCommand(): Command {
  return clientCommand('watch')
    .description('follow every task live until Ctrl-C (a table on a terminal, one line per change otherwise)')
    .option('--json', 'print each event as one JSON line: {"type":"task.updated","task":{…}}')
    .action(exitWhenDone((opts: WatchOptions) => runWatch(opts)));
}
