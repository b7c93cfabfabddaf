// The progress of one in-process download (`m3u8dm get`): a cli-progress bar on a
// terminal, plain lines (at most one a second, plus each phase change) otherwise.
import cliProgress from 'cli-progress';
import { formatBytes, formatDuration, progressPercent, statusBar } from '../manager/progress-text.js';
import type { Phase, ProgressSnapshot } from '../types.js';

export interface ProgressView {
  update(snapshot: ProgressSnapshot): void;
  /** Ends the bar (leaving its last state on screen) before any other line is printed. */
  stop(): void;
}

/** Least time between two plain progress lines. */
const PLAIN_INTERVAL_MS = 1_000;

export function createProgressView(stream: NodeJS.WriteStream, quiet: boolean): ProgressView {
  if (quiet) return { update: () => undefined, stop: () => undefined };
  return stream.isTTY ? new BarView(stream) : new PlainView(stream);
}

interface BarPayload {
  phase: Phase;
  snapshot?: ProgressSnapshot;
}

const PHASE_LABEL: Record<Phase, string> = {
  queued: 'queued     ',
  resolving: 'resolving  ',
  downloading: 'downloading',
  recording: 'recording  ',
  merging: 'merging    ',
  done: 'done       ',
};

/** `downloading [████░░░░] 42% · 5/12 segments · 1.2 MB · 300 KB/s · ETA 0:03` */
function formatBar(options: cliProgress.Options, params: cliProgress.Params, payload: BarPayload): string {
  const s = payload.snapshot;
  // A recording without a limit has no end for a bar to fill: its length and size say more.
  if (s?.phase === 'recording') return `${statusBar(s)} · Ctrl-C ends it`;
  const bar = cliProgress.Format.BarFormat(params.progress, options);
  const parts = [`${PHASE_LABEL[payload.phase]} ${bar} ${String(Math.floor(params.progress * 100)).padStart(3)}%`];
  if (s?.segments_total) parts.push(`${s.segments_done}/${s.segments_total} segments${s.segments_skipped ? ` (${s.segments_skipped} skipped)` : ''}`);
  if (s?.downloaded_bytes) parts.push(formatBytes(s.downloaded_bytes));
  if (s?.phase === 'downloading') {
    if (s.speed_bps) parts.push(`${formatBytes(s.speed_bps)}/s`);
    if (s.eta_s !== null) parts.push(`ETA ${formatDuration(s.eta_s)}`);
  }
  return parts.join(' · ');
}

class BarView implements ProgressView {
  readonly #bar: cliProgress.SingleBar;
  #started = false;

  constructor(stream: NodeJS.WriteStream) {
    this.#bar = new cliProgress.SingleBar({
      ...cliProgress.Presets.shades_classic,
      stream,
      format: formatBar,
      barsize: 24,
      hideCursor: true,
      linewrap: true,
      // Ctrl-C is ours to handle: the download is aborted cleanly, then the bar stopped.
      gracefulExit: false,
    });
  }

  update(snapshot: ProgressSnapshot): void {
    const payload: BarPayload = { phase: snapshot.phase, snapshot };
    const value = progressPercent(snapshot);
    if (!this.#started) {
      this.#started = true;
      this.#bar.start(100, value, payload);
    } else {
      this.#bar.update(value, payload);
    }
  }

  stop(): void {
    if (this.#started) this.#bar.stop();
    this.#started = false;
  }
}

class PlainView implements ProgressView {
  readonly #stream: NodeJS.WriteStream;
  #lastLine = 0;
  #lastPhase: Phase | undefined;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
  }

  update(snapshot: ProgressSnapshot): void {
    const now = Date.now();
    const phaseChanged = snapshot.phase !== this.#lastPhase;
    if (!phaseChanged && now - this.#lastLine < PLAIN_INTERVAL_MS) return;
    this.#lastLine = now;
    this.#lastPhase = snapshot.phase;
    this.#stream.write(`[${String(progressPercent(snapshot)).padStart(3)}%] ${statusBar(snapshot)}\n`);
  }

  stop(): void {}
}
