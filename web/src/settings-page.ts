// The settings page: the defaults every task without its own options follows
// (`/api/settings`, as in the Go original). The proxy password is write-only.
import { ApiError, compat } from './api.js';
import { notify } from './dialogs.js';
import { byId } from './dom.js';
import { FieldErrors } from './field-errors.js';
import { T } from './i18n.js';
import { addUrl, bookmarklet } from './send-to.js';
import { SettingsFields, type FieldGroup } from './settings-fields.js';
import type { DownloadSettings } from './types.js';

const GROUPS: FieldGroup[] = [
  { legend: T.group.folders, keys: ['save_location', 'temp_directory'] },
  { legend: T.group.download, keys: ['download_threads', 'skip_ts_info', 'log_skipped_ts', 'allow_insecure_https', 'debug_log'] },
  { legend: T.group.limits, keys: ['max_download_speed', 'max_connections_per_host'] },
  { legend: T.group.output, keys: ['no_merge_ts', 'keep_ts_files', 'use_server_file_time'] },
  { legend: T.group.proxy, keys: ['proxy_type', 'proxy_host', 'proxy_port', 'proxy_username', 'proxy_password'] },
];

export class SettingsPage {
  readonly #form = byId('settings-form', HTMLFormElement);
  readonly #submit = byId('st-submit', HTMLButtonElement);
  readonly #fields = new SettingsFields(byId('st-fields'), GROUPS, 'st');
  readonly #errors = new FieldErrors(byId('st-summary'), ([key]) => {
    const control = key !== undefined ? this.#fields.control(key) : undefined;
    return control ? { input: control } : null;
  });
  /** Called with the settings as saved (the new-download form starts from them). */
  onSaved: (settings: DownloadSettings) => void = () => undefined;

  constructor() {
    this.#form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#save();
    });
    const link = byId('bookmarklet', HTMLAnchorElement);
    link.href = bookmarklet();
    // On this page it would only add this page; it is meant for the bookmarks bar.
    link.addEventListener('click', (e) => {
      e.preventDefault();
      notify(T.sendToDrag);
    });
    byId('add-link').textContent = `${addUrl()}?url=…&name=…&referer=…`;
  }

  async load(): Promise<DownloadSettings | null> {
    try {
      const settings = await compat<DownloadSettings>('GET', '/settings');
      this.#fields.fill(settings);
      return settings;
    } catch (err) {
      this.#errors.show(T.settingsLoadFailed((err as Error).message));
      return null;
    }
  }

  async #save(): Promise<void> {
    this.#errors.clear();
    this.#submit.disabled = true;
    try {
      // Blank password = keep the saved one (the service only ever shows it blank).
      await compat('POST', '/settings', this.#fields.read());
      const saved = await this.load();
      const password = this.#fields.control('proxy_password');
      if (password) password.value = '';
      notify(T.settingsSaved);
      if (saved) this.onSaved(saved);
    } catch (err) {
      this.#errors.show(err instanceof ApiError && err.status === 400 ? err.message : T.saveFailed((err as Error).message));
    } finally {
      this.#submit.disabled = false;
    }
  }
}
