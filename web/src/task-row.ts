// One task in the list. The row is built once and then updated in place: a progress
// tick changes a few text nodes and the bar's width, never the row's structure, so
// focus, selection and hover survive live updates.
import { fetchBlob } from './api.js';
import { h, setAttr, setText } from './dom.js';
import { formatBytes, formatClock, formatEta, formatSpeed, formatWhen, shortenUrl } from './format.js';
import { T } from './i18n.js';
import { downloadTask, playTask } from './player.js';
import { Status, type V1Task } from './types.js';

export type TaskAction = 'stop' | 'resume' | 'retry' | 'delete';
/** What a finished row offers besides the list's actions; handled by the row itself. */
type FileAction = 'download' | 'play';

export interface RowCallbacks {
  onAction(task: V1Task, action: TaskAction): void;
  onSelect(id: number, selected: boolean): void;
}

/** Which actions each status allows (DESIGN.md's transitions). */
const ACTIONS: Record<number, TaskAction[]> = {
  [Status.pending]: ['stop', 'delete'],
  [Status.running]: ['stop', 'delete'],
  [Status.completed]: ['delete'],
  [Status.failed]: ['retry', 'delete'],
  [Status.paused]: ['resume', 'delete'],
};
/** A live task being recorded: its Pause is a Stop that ends the recording and keeps the file. */
function isRecording(task: V1Task): boolean {
  return task.live && task.status === Status.running && (task.phase === 'recording' || task.phase === 'merging');
}

function actionLabel(task: V1Task, action: TaskAction): string {
  return action === 'stop' && isRecording(task) ? T.stopRecording : T.action[action];
}

/** What the status badge says: the phase while running, "scheduled" for a pending task with a start time. */
function statusWord(task: V1Task): string {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a newer service may send a phase this page has no word for
  if (task.status === Status.running) return T.phase[task.phase] ?? T.status.running;
  if (task.status === Status.pending && task.start_time && Date.parse(task.start_time) > Date.now()) return T.scheduled;
  return T.status[task.status_text];
}

/** Play is for what a browser's <video> plays: MP4. */
const playable = (task: V1Task) => task.status === Status.completed && /\.mp4$/i.test(task.filename);

function statusDetail(task: V1Task): string {
  if (isRecording(task)) return T.recordedFor(formatClock(task.recorded_s));
  if (task.status === Status.pending && task.start_time && Date.parse(task.start_time) > Date.now()) return T.startsAt(formatWhen(task.start_time));
  if (task.status === Status.completed && task.completed_at) return formatWhen(task.completed_at);
  return '';
}

export class TaskRow {
  readonly el: HTMLLIElement;
  #task: V1Task;
  readonly #check: HTMLInputElement;
  readonly #file: HTMLElement;
  readonly #url: HTMLElement;
  readonly #error: HTMLElement;
  readonly #badge: HTMLElement;
  readonly #detail: HTMLElement;
  readonly #bar: HTMLElement;
  readonly #fill: HTMLElement;
  readonly #percent: HTMLElement;
  readonly #segments: HTMLElement;
  readonly #size: HTMLElement;
  readonly #speed: HTMLElement;
  readonly #eta: HTMLElement;
  readonly #buttons = new Map<TaskAction, HTMLButtonElement>();
  readonly #fileButtons = new Map<FileAction, HTMLButtonElement>();
  readonly #thumb: HTMLImageElement;
  /** The object URL the thumbnail shows, released when the row goes or the poster changes. */
  #thumbUrl: string | null = null;
  #thumbFor: number | null = null;

  constructor(task: V1Task, callbacks: RowCallbacks, selected: boolean) {
    this.#task = task;
    this.#check = h('input', { type: 'checkbox', class: 'select-one' });
    this.#check.checked = selected;
    this.#check.addEventListener('change', () => callbacks.onSelect(this.#task.id, this.#check.checked));
    this.#file = h('span', { class: 't-file' });
    this.#url = h('span', { class: 't-url' });
    this.#error = h('p', { class: 't-error', hidden: true });
    this.#badge = h('span', { class: 'badge' });
    this.#detail = h('span', { class: 't-detail' });
    this.#fill = h('span', { class: 'bar-fill' });
    this.#bar = h('span', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100 }, this.#fill);
    this.#percent = h('span', { class: 'pct' });
    const cell = (cls: string, label: string, value: HTMLElement) =>
      h('div', { class: `t-num ${cls}` }, h('span', { class: 't-label' }, label), value);
    this.#segments = h('span');
    this.#size = h('span');
    this.#speed = h('span');
    this.#eta = h('span');
    const actions = h('div', { class: 't-actions' });
    for (const action of ['play', 'download'] as const) {
      const button = h('button', { type: 'button', class: `btn btn-small act-${action}`, 'data-action': action, hidden: true }, T.action[action]);
      button.addEventListener('click', () => void (action === 'play' ? playTask(this.#task.id, this.#task.filename) : downloadTask(this.#task.id)));
      this.#fileButtons.set(action, button);
      actions.append(button);
    }
    for (const action of ['stop', 'resume', 'retry', 'delete'] as const) {
      const button = h('button', { type: 'button', class: `btn btn-small act-${action}${action === 'delete' ? ' btn-danger-quiet' : ''}`, 'data-action': action }, T.action[action]);
      button.addEventListener('click', () => callbacks.onAction(this.#task, action));
      this.#buttons.set(action, button);
      actions.append(button);
    }
    this.#thumb = h('img', { class: 't-thumb', alt: '', hidden: true, width: 80, height: 45, decoding: 'async' });
    this.el = h('li', { class: 'task', 'data-id': task.id },
      h('div', { class: 't-select' }, this.#check),
      h('div', { class: 't-name' }, this.#thumb, h('div', { class: 't-name-text' }, this.#file, this.#url, this.#error)),
      h('div', { class: 't-status' }, this.#badge, this.#detail),
      h('div', { class: 't-progress' }, this.#bar, this.#percent),
      cell('t-segments', T.colSegments, this.#segments),
      cell('t-size', T.colSize, this.#size),
      cell('t-speed', T.colSpeed, this.#speed),
      cell('t-eta', T.colEta, this.#eta),
      actions);
    this.#render(task, true);
  }

  get task(): V1Task {
    return this.#task;
  }

  /** Applies a newer record of this task; an older one (a list fetched before an event) is ignored. */
  update(task: V1Task): void {
    if (task.updated_at < this.#task.updated_at) return;
    this.#task = task;
    this.#render(task, false);
  }

  setSelected(selected: boolean): void {
    this.#check.checked = selected;
  }

  #render(task: V1Task, first: boolean): void {
    const name = task.filename;
    const recording = isRecording(task);
    if (first || name !== this.el.dataset.name || recording !== (this.el.dataset.recording === 'true')) {
      this.el.dataset.name = name;
      this.el.dataset.recording = String(recording);
      this.#check.setAttribute('aria-label', T.selectOne(name));
      this.#bar.setAttribute('aria-label', T.progressOf(name));
      this.#thumb.alt = T.thumbnailOf(name);
      for (const [action, button] of this.#buttons) {
        const label = actionLabel(task, action);
        setText(button, label);
        button.setAttribute('aria-label', T.actionOn(label, name));
        if (action === 'stop') button.title = recording ? T.stopRecordingTitle : '';
      }
      for (const [action, button] of this.#fileButtons) button.setAttribute('aria-label', T.actionOn(T.action[action], name));
    }
    setText(this.#file, name);
    setAttr(this.#file, 'title', task.output_path || name);
    setText(this.#url, shortenUrl(task.url));
    setAttr(this.#url, 'title', task.url);
    const failed = task.status === Status.failed && task.err_msg !== '';
    this.#error.hidden = !failed;
    setText(this.#error, failed ? task.err_msg : '');

    setAttr(this.el, 'data-status', task.status_text);
    setText(this.#badge, statusWord(task));
    setText(this.#detail, statusDetail(task));
    const percent = task.status === Status.completed ? 100 : task.progress;
    setAttr(this.#bar, 'aria-valuenow', String(percent));
    setAttr(this.#bar, 'aria-valuetext', `${percent}%, ${statusWord(task)}`);
    this.#fill.style.width = `${percent}%`;
    // A recording has no known end: its length is what grows.
    setText(this.#percent, recording && task.phase === 'recording' ? formatClock(task.recorded_s) : `${percent}%`);

    const skipped = task.segments_skipped ? T.skippedCount(task.segments_skipped) : '';
    if (task.live) setText(this.#segments, task.segments_done ? String(task.segments_done) : '—');
    else setText(this.#segments, task.segments_total ? `${task.segments_done}/${task.segments_total}${skipped}` : '—');
    const bytes = task.size || task.downloaded_bytes;
    setText(this.#size, bytes ? formatBytes(bytes) : '—');
    const running = task.status === Status.running;
    setText(this.#speed, running ? formatSpeed(task.speed_bps) : '—');
    setText(this.#eta, running && (task.phase === 'downloading' || task.phase === 'recording') ? formatEta(task.eta_s) : '—');

    const done = task.status === Status.completed;
    this.#fileButtons.get('download')!.hidden = !done;
    this.#fileButtons.get('play')!.hidden = !playable(task);
    this.#syncThumb(task);

    const allowed = ACTIONS[task.status] ?? ['delete'];
    let focusLost = false;
    for (const [action, button] of this.#buttons) {
      const hide = !allowed.includes(action);
      if (hide && document.activeElement === button) focusLost = true;
      if (button.hidden !== hide) button.hidden = hide;
    }
    // Pausing hides Pause: a keyboard user lands on its counterpart (Resume) instead of the page top.
    if (focusLost) [...this.#buttons.values()].find((b) => !b.hidden)?.focus();
  }

  /** The poster comes with the token (an <img> cannot send it), so it is fetched and shown from memory. */
  #syncThumb(task: V1Task): void {
    const want = task.has_poster && task.status === Status.completed ? task.id : null;
    if (want === this.#thumbFor) return;
    this.#thumbFor = want;
    this.#releaseThumb();
    if (want === null) return;
    void fetchBlob(`/tasks/${want}/poster`).then((blob) => {
      if (!blob || this.#thumbFor !== want) return;
      this.#thumbUrl = URL.createObjectURL(blob);
      this.#thumb.src = this.#thumbUrl;
      this.#thumb.hidden = false;
    }).catch(() => undefined);
  }

  #releaseThumb(): void {
    if (this.#thumbUrl) URL.revokeObjectURL(this.#thumbUrl);
    this.#thumbUrl = null;
    this.#thumb.hidden = true;
    this.#thumb.removeAttribute('src');
  }

  /** The list calls this when the row leaves it. */
  dispose(): void {
    this.#thumbFor = null;
    this.#releaseThumb();
  }
}
