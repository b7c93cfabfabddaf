// The page's entry: wires the views to the service and switches between them by
// the URL's hash (#/, #/new, #/settings) so the back button and bookmarks work.
import { byId } from './dom.js';
import { lang, switchLang, T, translatePage, type Lang } from './i18n.js';
import { LiveUpdates, type LiveMode } from './live.js';
import { NewDownloadForm } from './new-download.js';
import { addRequestFromHash } from './send-to.js';
import { SettingsPage } from './settings-page.js';
import { StatsBar } from './stats-bar.js';
import { TaskList } from './task-list.js';
import { changeToken, currentToken, onTokenChange } from './token.js';

type View = 'list' | 'new' | 'settings';
const VIEWS: View[] = ['list', 'new', 'settings'];

function viewFromHash(): View {
  const name = location.hash.replace(/^#\/?/, '').split('?')[0];
  return VIEWS.includes(name as View) ? (name as View) : 'list';
}

function boot(): void {
  byId('boot-note').remove();
  translatePage();
  const langSelect = byId('lang-select', HTMLSelectElement);
  langSelect.value = lang;
  langSelect.addEventListener('change', () => switchLang(langSelect.value as Lang));
  const list = new TaskList({
    list: byId('task-list', HTMLUListElement),
    empty: byId('task-empty'),
    status: byId('filter-status', HTMLSelectElement),
    search: byId('filter-q', HTMLInputElement),
    pageSize: byId('page-size', HTMLSelectElement),
    prev: byId('page-prev', HTMLButtonElement),
    next: byId('page-next', HTMLButtonElement),
    pageInfo: byId('page-info'),
    selectAll: byId('select-all', HTMLInputElement),
    selectedCount: byId('selected-count'),
    batchButtons: [...document.querySelectorAll<HTMLButtonElement>('[data-batch]')],
    retryAll: byId('retry-all', HTMLButtonElement),
    loadError: byId('list-error'),
  });
  const stats = new StatsBar(byId('stats'), (status) => {
    list.filterStatus(status);
    location.hash = '#/';
  });
  list.onChange = () => stats.refresh();
  const form = new NewDownloadForm();
  form.onCreated = () => {
    location.hash = '#/';
  };
  const settings = new SettingsPage();
  settings.onSaved = (saved) => {
    form.setDefaults(saved);
    // The stats bar shows the overall speed limit.
    stats.refresh();
  };

  const show = (view: View, moveFocus: boolean) => {
    for (const name of VIEWS) byId(`view-${name}`).hidden = name !== view;
    for (const link of document.querySelectorAll<HTMLAnchorElement>('nav.views a')) {
      if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    if (view === 'settings') void settings.load();
    const add = view === 'new' ? addRequestFromHash() : null;
    if (add) {
      form.prefill(add);
      // Said once: a reload or the back button does not fill the form again.
      history.replaceState(null, '', '#/new');
    }
    // After a click on the nav, the heading takes the focus so keyboard and screen reader users start there.
    if (moveFocus) byId(`view-${view}`).querySelector<HTMLElement>('h1')?.focus();
  };
  window.addEventListener('hashchange', () => show(viewFromHash(), true));
  show(viewFromHash(), false);

  const liveStatus = byId('live-status');
  const MODE_TEXT: Record<LiveMode, string> = T.live;
  const live = new LiveUpdates({
    onEvent: (event) => {
      list.applyEvent(event);
      stats.refresh();
    },
    onResync: () => {
      void list.refresh();
      stats.refresh();
    },
    onMode: (mode) => {
      liveStatus.textContent = MODE_TEXT[mode];
      liveStatus.dataset.mode = mode;
    },
  });

  const tokenButton = byId('token-button', HTMLButtonElement);
  tokenButton.hidden = currentToken() === null;
  tokenButton.addEventListener('click', () => void changeToken());
  onTokenChange(() => {
    tokenButton.hidden = false;
    live.reconnect();
    void list.refresh();
    void stats.load();
  });

  // The first calls may ask for the token; the stream opens after them so it carries it.
  void Promise.allSettled([list.refresh(), stats.load(), settings.load().then((s) => s && form.setDefaults(s))]).then(() => live.start());
}

boot();
