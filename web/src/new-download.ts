// The new-download form: URLs (one per line), file name, headers (typed or taken
// from a pasted curl command), and per-task options. Only options changed from the
// saved settings are sent, so an untouched task keeps following the settings page.
import { ApiError, v1 } from './api.js';
import { CurlParseError, parseCurl } from './curl-parse.js';
import { notify } from './dialogs.js';
import { byId } from './dom.js';
import { FieldErrors } from './field-errors.js';
import { HeaderRows } from './header-rows.js';
import { T } from './i18n.js';
import type { AddRequest } from './send-to.js';
import { SettingsFields, type FieldGroup } from './settings-fields.js';
import type { DownloadSettings, TaskOptions } from './types.js';
import { ErrorCode } from '../../src/api/error-codes.js';

const GROUPS: FieldGroup[] = [
  { legend: T.group.output, keys: ['save_location', 'format', 'variant', 'no_merge_ts', 'keep_ts_files', 'use_server_file_time'] },
  { legend: T.group.download, keys: ['download_threads', 'max_speed', 'skip_ts_info', 'log_skipped_ts', 'allow_insecure_https', 'debug_log'] },
  { legend: T.group.proxy, keys: ['proxy_type', 'proxy_host', 'proxy_port', 'proxy_username', 'proxy_password'] },
];
const V1_EXTRAS: Pick<TaskOptions, 'variant' | 'format' | 'max_speed'> = { variant: 'best', format: 'mp4', max_speed: 0 };

interface CreateBody {
  source: 'ui';
  url?: string;
  urls?: string[];
  filename?: string;
  headers?: Record<string, string[]>;
  options?: Partial<TaskOptions>;
  start_time?: string;
}

export class NewDownloadForm {
  readonly #form = byId('new-form', HTMLFormElement);
  readonly #urls = byId('nd-urls', HTMLTextAreaElement);
  readonly #filename = byId('nd-filename', HTMLInputElement);
  readonly #curl = byId('nd-curl', HTMLTextAreaElement);
  readonly #curlNote = byId('nd-curl-note');
  readonly #startTime = byId('nd-start-time', HTMLInputElement);
  readonly #submit = byId('nd-submit', HTMLButtonElement);
  readonly #headers = new HeaderRows(byId('nd-headers'), byId('nd-add-header', HTMLButtonElement));
  readonly #options = new SettingsFields(byId('nd-options'), GROUPS, 'nd');
  readonly #errors: FieldErrors;
  #defaults: Partial<TaskOptions> = { ...V1_EXTRAS };
  /** Index among the sent URLs → line number in the box (blank lines are not sent). */
  #lineOf: number[] = [];
  /** Called with the ids of the tasks just created. */
  onCreated: (ids: number[]) => void = () => undefined;

  constructor() {
    this.#errors = new FieldErrors(byId('nd-summary'), (path) => this.#fieldFor(path));
    this.#form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#send();
    });
    byId('nd-curl-apply', HTMLButtonElement).addEventListener('click', () => this.#applyCurl());
    // Pasting is the usual way in, so it fills the form at once; the button re-applies after edits.
    this.#curl.addEventListener('paste', () => window.setTimeout(() => this.#applyCurl(), 0));
    this.#options.fill(this.#defaults);
  }

  /** The saved settings are what an untouched task gets; the form starts from them. */
  setDefaults(settings: DownloadSettings): void {
    this.#defaults = { ...settings, ...V1_EXTRAS };
    this.#options.fill(this.#defaults);
  }

  /** Fills the form from a "send to m3u8dm" link; nothing is sent until the person confirms. */
  prefill(request: AddRequest): void {
    this.#urls.value = request.url;
    this.#filename.value = request.name;
    this.#headers.set(request.referer ? [['Referer', request.referer]] : []);
    notify(T.prefilled);
  }

  #applyCurl(): void {
    const note = this.#curlNote;
    note.classList.remove('error-text');
    const text = this.#curl.value.trim();
    if (!text) return;
    try {
      const parsed = parseCurl(text);
      if (!parsed.urls.length) throw new Error(T.curlNoUrl);
      this.#urls.value = parsed.urls.join('\n');
      this.#headers.set(parsed.headers);
      const ignored = [...new Set(parsed.ignored)];
      note.textContent = T.curlFilled(parsed.urls.length, parsed.headers.length) + (ignored.length ? T.curlIgnored(ignored.join(' ')) : '');
    } catch (err) {
      note.textContent = T.curlUnreadable(err instanceof CurlParseError ? T.curlError[err.reason](err.flag) : (err as Error).message);
      note.classList.add('error-text');
    }
  }

  #body(): CreateBody | null {
    const body: CreateBody = { source: 'ui' };
    const lines = this.#urls.value.split(/\r?\n/);
    const urls: string[] = [];
    this.#lineOf = [];
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      urls.push(line.trim());
      this.#lineOf.push(i + 1);
    });
    if (urls.length === 1) body.url = urls[0];
    else if (urls.length > 1) body.urls = urls;
    const filename = this.#filename.value.trim();
    if (filename) body.filename = filename;

    const unnamed = this.#headers.pairs().find(([name]) => !name);
    if (unnamed) {
      const input = this.#headers.inputFor('');
      this.#errors.clear();
      if (input) this.#errors.at(input, T.headerNameMissing);
      input?.focus();
      return null;
    }
    const headers = this.#headers.toMap();
    if (Object.keys(headers).length) body.headers = headers;

    const options: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this.#options.read())) {
      // The password reads back blank: typed means "use this one", blank means the saved one.
      if (key === 'proxy_password' ? value !== '' : value !== this.#defaults[key as keyof TaskOptions]) options[key] = value;
    }
    if (Object.keys(options).length) body.options = options;
    if (this.#startTime.value) body.start_time = this.#startTime.value.slice(0, 5);
    return body;
  }

  async #send(): Promise<void> {
    const body = this.#body();
    if (!body) return;
    this.#errors.clear();
    this.#submit.disabled = true;
    this.#form.setAttribute('aria-busy', 'true');
    try {
      const { task_ids, created_count } = await v1<{ task_ids: number[]; created_count: number }>('POST', '/tasks', body);
      notify(T.added(created_count));
      this.#reset();
      this.onCreated(task_ids);
    } catch (err) {
      if (err instanceof ApiError && err.code === ErrorCode.missingUrl) this.#errors.show(T.urlsMissing);
      else if (err instanceof ApiError && err.status >= 400 && err.status < 500) this.#errors.show(err.message);
      else this.#errors.show(T.addFailed((err as Error).message));
    } finally {
      this.#submit.disabled = false;
      this.#form.removeAttribute('aria-busy');
    }
  }

  #reset(): void {
    this.#urls.value = '';
    this.#filename.value = '';
    this.#curl.value = '';
    this.#curlNote.textContent = '';
    this.#startTime.value = '';
    this.#headers.set([]);
    this.#options.fill(this.#defaults);
    const password = this.#options.control('proxy_password');
    if (password) password.value = '';
  }

  /** The input an API error path names. */
  #fieldFor(path: string[]): { input: HTMLElement; prefix?: string } | null {
    const [head, second] = path;
    switch (head) {
      case 'url':
        return { input: this.#urls };
      case 'urls': {
        const line = second !== undefined ? this.#lineOf[Number(second)] : undefined;
        return { input: this.#urls, prefix: line ? T.line(line) : undefined };
      }
      case 'filename':
        return { input: this.#filename };
      case 'start_time':
        return { input: this.#startTime };
      case 'headers':
        return { input: (second !== undefined && this.#headers.inputFor(second)) || byId('nd-add-header') };
      case 'options': {
        const control = second !== undefined ? this.#options.control(second) : undefined;
        return control ? { input: control } : null;
      }
      default: {
        // Some messages name a setting without the `options.` prefix (save_location).
        const control = head !== undefined ? this.#options.control(head) : undefined;
        return control ? { input: control } : null;
      }
    }
  }
}
