// The list of tasks: one page of them as the filters ask, kept current by live
// events (rows updated in place) and by re-fetching the page when membership may
// have changed. Single and batch actions go through here.
import { ApiError, v1 } from './api.js';
import { confirmAction, notify } from './dialogs.js';
import { debounce, setText } from './dom.js';
import { T } from './i18n.js';
import { TaskRow, type TaskAction } from './task-row.js';
import { Status, type TaskEvent, type TaskPage, type V1Task } from './types.js';

export interface TaskListElements {
  list: HTMLUListElement;
  empty: HTMLElement;
  status: HTMLSelectElement;
  search: HTMLInputElement;
  pageSize: HTMLSelectElement;
  prev: HTMLButtonElement;
  next: HTMLButtonElement;
  pageInfo: HTMLElement;
  selectAll: HTMLInputElement;
  selectedCount: HTMLElement;
  batchButtons: HTMLButtonElement[];
  retryAll: HTMLButtonElement;
  loadError: HTMLElement;
}

/** Statuses from which each action is allowed (DESIGN.md). */
const ALLOWED_FROM: Record<Exclude<TaskAction, 'delete'>, number[]> = {
  stop: [Status.pending, Status.running],
  resume: [Status.paused, Status.failed],
  retry: [Status.failed],
};

export class TaskList {
  readonly #els: TaskListElements;
  readonly #rows = new Map<number, TaskRow>();
  readonly #selected = new Set<number>();
  #page = 1;
  #total = 0;
  /** Last status seen in an event, per task off this page. */
  readonly #statusSeen = new Map<number, number>();
  #inFlight: Promise<void> | null = null;
  #again = false;
  readonly #refreshSoon = debounce(() => void this.refresh(), 150);
  /** Called after anything that changes counts (the stats bar listens). */
  onChange: () => void = () => undefined;

  constructor(els: TaskListElements) {
    this.#els = els;
    els.status.addEventListener('change', () => this.#restart());
    els.pageSize.addEventListener('change', () => this.#restart());
    els.search.addEventListener('input', debounce(() => this.#restart(), 250));
    els.prev.addEventListener('click', () => this.#goto(this.#page - 1));
    els.next.addEventListener('click', () => this.#goto(this.#page + 1));
    els.selectAll.addEventListener('change', () => {
      for (const [id, row] of this.#rows) {
        if (els.selectAll.checked) this.#selected.add(id);
        else this.#selected.delete(id);
        row.setSelected(els.selectAll.checked);
      }
      this.#syncSelection();
    });
    for (const button of els.batchButtons) {
      button.addEventListener('click', () => void this.#batch(button.dataset.batch as TaskAction));
    }
    els.retryAll.addEventListener('click', () => void this.#retryAll());
    this.#syncSelection();
  }

  /** Shows only tasks of this status code ('' for all), from the first page. */
  filterStatus(status: string): void {
    this.#els.status.value = status;
    this.#restart();
  }

  /** Fetches the current page. Calls made while one is in flight collapse into one more. */
  refresh(): Promise<void> {
    if (this.#inFlight) {
      this.#again = true;
      return this.#inFlight;
    }
    this.#inFlight = this.#load().finally(() => {
      this.#inFlight = null;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#inFlight;
  }

  applyEvent({ type, task }: TaskEvent): void {
    const row = this.#rows.get(task.id);
    if (type === 'task.updated' && row) {
      // Still belongs here: update in place. Left the filter: the page is fetched again.
      if (this.#matches(task)) row.update(task);
      else this.#refreshSoon();
      return;
    }
    if (type === 'task.deleted' && row) this.#remove(task.id);
    if (type === 'task.deleted') this.#statusSeen.delete(task.id);
    if (type === 'task.updated') {
      // A task on another page: only a change of status can move it into this filtered
      // page, and progress ticks of many such tasks must not re-fetch all the time.
      const before = this.#statusSeen.get(task.id);
      this.#statusSeen.set(task.id, task.status);
      if (before === task.status || this.#els.status.value === '' || !this.#matches(task)) return;
    }
    // Created, deleted, or moved into the filter: membership and totals may differ.
    this.#refreshSoon();
  }

  #matches(task: V1Task): boolean {
    const status = this.#els.status.value;
    if (status && !status.split(',').map(Number).includes(task.status)) return false;
    const q = this.#els.search.value.trim().toLowerCase();
    return !q || task.url.toLowerCase().includes(q) || task.filename.toLowerCase().includes(q);
  }

  #restart(): void {
    this.#page = 1;
    this.#selected.clear();
    void this.refresh();
  }

  #goto(page: number): void {
    this.#page = Math.max(1, page);
    this.#selected.clear();
    void this.refresh();
  }

  async #load(): Promise<void> {
    const pageSize = Number(this.#els.pageSize.value) || 20;
    const params = new URLSearchParams({ page: String(this.#page), page_size: String(pageSize) });
    if (this.#els.status.value) params.set('status', this.#els.status.value);
    const q = this.#els.search.value.trim();
    if (q) params.set('q', q);
    let page: TaskPage;
    try {
      page = await v1<TaskPage>('GET', `/tasks?${params}`);
    } catch (err) {
      this.#els.loadError.textContent = T.loadFailed((err as Error).message);
      this.#els.loadError.hidden = false;
      return;
    }
    this.#els.loadError.hidden = true;
    const lastPage = Math.max(1, Math.ceil(page.total / pageSize));
    if (this.#page > lastPage) {
      // Deletes emptied this page: show the last one that has tasks.
      this.#page = lastPage;
      this.#again = true;
      return;
    }
    this.#total = page.total;
    this.#show(page.tasks);
    this.#syncPager(pageSize);
  }

  /** Makes the list hold exactly these tasks in this order, reusing every row it can. */
  #show(tasks: V1Task[]): void {
    const wanted = new Set(tasks.map((t) => t.id));
    for (const id of this.#rows.keys()) if (!wanted.has(id)) this.#remove(id);
    let before: Element | null = this.#els.list.firstElementChild;
    for (const task of tasks) {
      let row = this.#rows.get(task.id);
      if (row) row.update(task);
      else {
        row = new TaskRow(task, { onAction: (t, a) => void this.#act(t, a), onSelect: (id, on) => this.#select(id, on) }, this.#selected.has(task.id));
        this.#rows.set(task.id, row);
      }
      // Only rows out of place move, so a focused button in a row that stays keeps its focus.
      if (row.el !== before) this.#els.list.insertBefore(row.el, before);
      before = row.el.nextElementSibling;
    }
    this.#syncSelection();
  }

  #remove(id: number): void {
    this.#rows.get(id)?.dispose();
    this.#rows.get(id)?.el.remove();
    this.#rows.delete(id);
    this.#selected.delete(id);
    this.#syncSelection();
  }

  #syncPager(pageSize: number): void {
    const { prev, next, pageInfo, empty } = this.#els;
    const lastPage = Math.max(1, Math.ceil(this.#total / pageSize));
    prev.disabled = this.#page <= 1;
    next.disabled = this.#page >= lastPage;
    const first = this.#total ? (this.#page - 1) * pageSize + 1 : 0;
    const last = Math.min(this.#total, this.#page * pageSize);
    setText(pageInfo, this.#total ? T.pageInfo(first, last, this.#total, this.#page, lastPage) : '');
    const filtered = this.#els.status.value !== '' || this.#els.search.value.trim() !== '';
    empty.hidden = this.#total > 0;
    setText(empty, filtered ? T.emptyFiltered : T.emptyNone);
  }

  #select(id: number, on: boolean): void {
    if (on) this.#selected.add(id);
    else this.#selected.delete(id);
    this.#syncSelection();
  }

  #syncSelection(): void {
    const { selectAll, selectedCount, batchButtons } = this.#els;
    const n = this.#selected.size;
    setText(selectedCount, n ? T.selected(n) : T.noneSelected);
    for (const button of batchButtons) button.disabled = n === 0;
    selectAll.checked = n > 0 && n === this.#rows.size;
    selectAll.indeterminate = n > 0 && n < this.#rows.size;
    selectAll.disabled = this.#rows.size === 0;
  }

  async #act(task: V1Task, action: TaskAction): Promise<void> {
    try {
      if (action === 'delete') {
        const ok = await confirmAction(T.confirmDelete(task.filename), T.action.delete);
        if (!ok) return;
        await v1('DELETE', `/tasks/${task.id}`);
        this.#remove(task.id);
        notify(T.deleted(task.filename));
        this.#refreshSoon();
      } else {
        this.#rows.get(task.id)?.update(await v1<V1Task>('POST', `/tasks/${task.id}/${action}`));
      }
      this.onChange();
    } catch (err) {
      notify(T.actionFailed(T.action[action], (err as Error).message), 'error');
      void this.refresh();
    }
  }

  async #batch(action: TaskAction): Promise<void> {
    const ids = [...this.#selected];
    if (!ids.length) return;
    if (action === 'delete') {
      const ok = await confirmAction(T.confirmDeleteMany(ids.length), T.deleteN(ids.length));
      if (!ok) return;
      try {
        const { deleted_count } = await v1<{ deleted_count: number }>('DELETE', '/tasks/batch', { task_ids: ids });
        for (const id of ids) this.#remove(id);
        notify(T.deletedN(deleted_count));
      } catch (err) {
        notify(T.deleteFailed((err as Error).message), 'error');
      }
    } else {
      // One call per task; those whose state does not allow the action are left alone.
      const targets = ids.map((id) => this.#rows.get(id)?.task).filter((t): t is V1Task => !!t && ALLOWED_FROM[action].includes(t.status));
      const results = await Promise.allSettled(targets.map((t) => v1<V1Task>('POST', `/tasks/${t.id}/${action}`)));
      let done = 0;
      for (const result of results) {
        if (result.status === 'fulfilled') {
          this.#rows.get(result.value.id)?.update(result.value);
          done++;
        }
      }
      const skipped = ids.length - done;
      notify(T.batchDone(T.past[action], done, ids.length, skipped), done ? 'info' : 'error');
    }
    this.onChange();
    this.#refreshSoon();
  }

  async #retryAll(): Promise<void> {
    try {
      const { retried_count } = await v1<{ retried_count: number }>('POST', '/tasks/retry-all');
      notify(T.retrying(retried_count));
      this.onChange();
      this.#refreshSoon();
    } catch (err) {
      notify(T.retryAllFailed(err instanceof ApiError ? err.message : String(err)), 'error');
    }
  }
}
