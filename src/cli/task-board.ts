// Live progress of service tasks (`add --wait`): a cli-progress bar per task on a
// terminal; plain lines otherwise (each status change, and at most one line a
// second per task while it runs).
import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from '../manager/progress-text.js';
import type { V1Task } from './client.js';
import { taskLine, truncate } from './output.js';

export interface TaskBoard {
  update(task: V1Task): void;
  deleted(id: number): void;
  stop(): void;
}

export function createTaskBoard(stream: NodeJS.WriteStream): TaskBoard {
  return stream.isTTY ? new BarBoard(stream) : new LineBoard(stream);
}

/** The plain-lines board whatever the stream is (`watch` without a terminal). */
export function createLineBoard(stream: NodeJS.WritableStream): TaskBoard {
  return new LineBoard(stream);
}

interface BarPayload {
  task?: V1Task;
  id: number;
  gone?: boolean;
}

const NAME_WIDTH = 24;

function taskStatusText(task: V1Task): string {
  switch (task.status_text) {
    case 'running': {
      const parts: string[] = [task.phase];
      if (task.segments_total) parts.push(`${task.segments_done}/${task.segments_total} segments`);
      if (task.speed_bps) parts.push(`${formatBytes(task.speed_bps)}/s`);
      if (task.eta_s !== null && task.phase === 'downloading') parts.push(`ETA ${formatDuration(task.eta_s)}`);
      return parts.join(' · ');
    }
    case 'failed':
      return `failed: ${task.err_msg}`;
    case 'completed':
      return `completed · ${formatBytes(task.size)}`;
    default:
      return task.status_text;
  }
}

function formatTaskBar(options: cliProgress.Options, params: cliProgress.Params, payload: BarPayload): string {
  const task = payload.task;
  const name = truncate(task?.filename ?? '', NAME_WIDTH).padEnd(NAME_WIDTH);
  const bar = cliProgress.Format.BarFormat(params.progress, options);
  const status = payload.gone ? 'deleted' : task ? taskStatusText(task) : 'waiting for the service';
  return `#${String(payload.id).padEnd(5)} ${name} ${bar} ${String(Math.round(params.progress * 100)).padStart(3)}% · ${status}`;
}

class BarBoard implements TaskBoard {
  readonly #multi: cliProgress.MultiBar;
  readonly #bars = new Map<number, cliProgress.SingleBar>();

  constructor(stream: NodeJS.WriteStream) {
    this.#multi = new cliProgress.MultiBar({
      ...cliProgress.Presets.shades_classic,
      stream,
      format: formatTaskBar,
      barsize: 20,
      hideCursor: true,
      linewrap: false,
      gracefulExit: false,
    });
  }

  #bar(id: number): cliProgress.SingleBar {
    let bar = this.#bars.get(id);
    if (!bar) {
      bar = this.#multi.create(100, 0, { id } satisfies BarPayload);
      this.#bars.set(id, bar);
    }
    return bar;
  }

  update(task: V1Task): void {
    this.#bar(task.id).update(task.progress, { id: task.id, task } satisfies BarPayload);
  }

  deleted(id: number): void {
    this.#bar(id).update({ id, gone: true } satisfies BarPayload);
  }

  stop(): void {
    this.#multi.stop();
  }
}

/** Least time between two progress lines of one task. */
const LINE_INTERVAL_MS = 1_000;

class LineBoard implements TaskBoard {
  readonly #stream: NodeJS.WritableStream;
  readonly #last = new Map<number, { at: number; status: string }>();

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
  }

  update(task: V1Task): void {
    const previous = this.#last.get(task.id);
    const now = Date.now();
    if (previous && previous.status === task.status_text && now - previous.at < LINE_INTERVAL_MS) return;
    this.#last.set(task.id, { at: now, status: task.status_text });
    this.#stream.write(`${taskLine(task)}\n`);
  }

  deleted(id: number): void {
    this.#stream.write(`#${id} deleted\n`);
  }

  stop(): void {}
}
