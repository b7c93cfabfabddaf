// One task in the list. The row is built once and then updated in place: a progress
// tick changes a few text nodes and the bar's width, never the row's structure, so
// focus, selection and hover survive live updates.
import { h, setAttr, setText } from './dom.js';
import { formatBytes, formatClock, formatEta, formatSpeed, formatWhen, shortenUrl } from './format.js';
import { Status, type V1Task } from './types.js';

export type TaskAction = 'stop' | 'resume' | 'retry' | 'delete';

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
const ACTION_LABEL: Record<TaskAction, string> = { stop: 'Pause', resume: 'Resume', retry: 'Retry', delete: 'Delete' };

/** A live task being recorded: its Pause is a Stop that ends the recording and keeps the file. */
function isRecording(task: V1Task): boolean {
  return task.live && task.status === Status.running && (task.phase === 'recording' || task.phase === 'merging');
}

function actionLabel(task: V1Task, action: TaskAction): string {
  return action === 'stop' && isRecording(task) ? 'Stop' : ACTION_LABEL[action];
}

/** What the status badge says: the phase while running, "scheduled" for a pending task with a start time. */
function statusWord(task: V1Task): string {
  if (task.status === Status.running) return task.phase === 'queued' ? 'starting' : task.phase;
  if (task.status === Status.pending && task.start_time && Date.parse(task.start_time) > Date.now()) return 'scheduled';
  return task.status_text;
}

function statusDetail(task: V1Task): string {
  if (isRecording(task)) return `recorded ${formatClock(task.recorded_s)}`;
  if (task.status === Status.pending && task.start_time && Date.parse(task.start_time) > Date.now()) return `starts ${formatWhen(task.start_time)}`;
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
    for (const action of ['stop', 'resume', 'retry', 'delete'] as const) {
      const button = h('button', { type: 'button', class: `btn btn-small act-${action}${action === 'delete' ? ' btn-danger-quiet' : ''}`, 'data-action': action }, ACTION_LABEL[action]);
      button.addEventListener('click', () => callbacks.onAction(this.#task, action));
      this.#buttons.set(action, button);
      actions.append(button);
    }
    this.el = h('li', { class: 'task', 'data-id': task.id },
      h('div', { class: 't-select' }, this.#check),
      h('div', { class: 't-name' }, this.#file, this.#url, this.#error),
      h('div', { class: 't-status' }, this.#badge, this.#detail),
      h('div', { class: 't-progress' }, this.#bar, this.#percent),
      cell('t-segments', 'Segments', this.#segments),
      cell('t-size', 'Size', this.#size),
      cell('t-speed', 'Speed', this.#speed),
      cell('t-eta', 'ETA', this.#eta),
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
      this.#check.setAttribute('aria-label', `Select ${name}`);
      this.#bar.setAttribute('aria-label', `Progress of ${name}`);
      for (const [action, button] of this.#buttons) {
        const label = actionLabel(task, action);
        setText(button, label);
        button.setAttribute('aria-label', `${label} ${name}`);
        if (action === 'stop') button.title = recording ? 'End the recording; what was recorded becomes the file' : '';
      }
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

    const skipped = task.segments_skipped ? ` (+${task.segments_skipped} skipped)` : '';
    if (task.live) setText(this.#segments, task.segments_done ? String(task.segments_done) : '—');
    else setText(this.#segments, task.segments_total ? `${task.segments_done}/${task.segments_total}${skipped}` : '—');
    const bytes = task.size || task.downloaded_bytes;
    setText(this.#size, bytes ? formatBytes(bytes) : '—');
    const running = task.status === Status.running;
    setText(this.#speed, running ? formatSpeed(task.speed_bps) : '—');
    setText(this.#eta, running && (task.phase === 'downloading' || task.phase === 'recording') ? formatEta(task.eta_s) : '—');

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
}
