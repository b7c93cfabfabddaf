// The header's counts and total speed. Each count is a button that filters the list.
import { v1 } from './api.js';
import { h, setText, throttle } from './dom.js';
import { formatSpeed } from './format.js';
import { T } from './i18n.js';
import { Status, type TaskStats } from './types.js';

const ITEMS: { key: keyof Omit<TaskStats, 'speed_bps' | 'speed_limit_bps'>; filter: string }[] = [
  { key: 'total', filter: '' },
  { key: 'running', filter: String(Status.running) },
  { key: 'pending', filter: String(Status.pending) },
  { key: 'paused', filter: String(Status.paused) },
  { key: 'completed', filter: String(Status.completed) },
  { key: 'failed', filter: String(Status.failed) },
];

export class StatsBar {
  readonly #values = new Map<string, HTMLElement>();
  readonly #speed: HTMLElement;
  readonly #limit: HTMLElement;
  /** Live events come many a second; the counts need not. */
  readonly refresh = throttle(() => void this.load(), 1000);

  constructor(container: HTMLElement, onFilter: (status: string) => void) {
    const list = h('ul', { class: 'stats-list' });
    for (const item of ITEMS) {
      const value = h('span', { class: 'stat-value' }, '–');
      this.#values.set(item.key, value);
      const label = T.statusTitle[item.key];
      const button = h('button', { type: 'button', class: `stat stat-${item.key}`, 'data-stat': item.key, title: T.showStatus(label) },
        h('span', { class: 'stat-label' }, label), value);
      button.addEventListener('click', () => onFilter(item.filter));
      list.append(h('li', {}, button));
    }
    this.#speed = h('span', { class: 'stat-value' }, '–');
    // The overall limit beside the speed, when one is set (Settings → Limits).
    this.#limit = h('span', { class: 'stat-limit', 'data-stat': 'speed-limit' });
    list.append(h('li', {}, h('span', { class: 'stat stat-speed', 'data-stat': 'speed' }, h('span', { class: 'stat-label' }, T.statSpeed), this.#speed, this.#limit)));
    container.append(list);
  }

  async load(): Promise<void> {
    try {
      const stats = await v1<TaskStats>('GET', '/tasks/stats');
      for (const [key, el] of this.#values) setText(el, String(stats[key as keyof TaskStats]));
      setText(this.#speed, formatSpeed(stats.speed_bps));
      setText(this.#limit, stats.speed_limit_bps > 0 ? T.statLimit(formatSpeed(stats.speed_limit_bps)) : '');
    } catch {
      // The list shows connection problems; the counts just stay as they were.
    }
  }
}

