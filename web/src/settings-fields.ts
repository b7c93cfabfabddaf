// The download settings as form fields, built from one description so the
// new-download form's advanced section and the settings page read the same.
import { h } from './dom.js';
import type { TaskOptions } from './types.js';

export type OptionKey = keyof TaskOptions;

interface FieldSpec {
  label: string;
  kind: 'text' | 'int' | 'bool' | 'choice' | 'password' | 'variant' | 'speed';
  choices?: readonly (readonly [value: string, label: string])[];
  /** Text, or a grammar as (syntax, meaning) pairs shown as a list. */
  hint?: string | readonly (readonly [syntax: string, meaning: string])[];
  placeholder?: string;
}

/** The skip grammar (src/downloader/skip-rules.ts), told the way a person writes it. */
export const SKIP_GRAMMAR = [
  ['N or A-B', 'segment numbers, 1-based, inclusive (e.g. 1-3)'],
  ['http.code=403', 'a segment answering 403 is skipped instead of failing the download'],
  ['time:HH:MM:SS-HH:MM:SS', 'skip the segments inside this window'],
  ['!time:HH:MM:SS-HH:MM:SS', 'keep only the segments overlapping it'],
] as const;

const SPECS: Record<OptionKey, FieldSpec> = {
  save_location: { label: 'Save location', kind: 'text', placeholder: 'the download folder', hint: 'A folder inside the download folder (relative paths start there) or an allowed save root.' },
  temp_directory: { label: 'Temporary folder', kind: 'text', placeholder: 'data folder/work', hint: 'Where segments wait until they are merged.' },
  download_threads: { label: 'Threads', kind: 'int', hint: 'Segments downloaded at once, 1–128.' },
  skip_ts_info: { label: 'Skip segments', kind: 'text', placeholder: 'e.g. 1-3,http.code=404', hint: SKIP_GRAMMAR },
  proxy_type: { label: 'Proxy', kind: 'choice', choices: [['none', 'No proxy'], ['http', 'HTTP'], ['https', 'HTTPS'], ['socks5', 'SOCKS5'], ['socks4', 'SOCKS4']] },
  proxy_host: { label: 'Proxy host', kind: 'text', placeholder: '127.0.0.1' },
  proxy_port: { label: 'Proxy port', kind: 'int', placeholder: '1080' },
  proxy_username: { label: 'Proxy user', kind: 'text' },
  proxy_password: { label: 'Proxy password', kind: 'password', placeholder: 'leave blank to keep the saved one', hint: 'Never shown again once saved.' },
  allow_insecure_https: { label: 'Allow insecure HTTPS (skip certificate checks)', kind: 'bool' },
  keep_ts_files: { label: 'Keep the segments after merging', kind: 'bool' },
  use_server_file_time: { label: "Use the server's file time for the output", kind: 'bool' },
  no_merge_ts: { label: 'Do not merge (keep segments only)', kind: 'bool' },
  debug_log: { label: 'Write a debug log', kind: 'bool' },
  log_skipped_ts: { label: 'List skipped segments next to the output', kind: 'bool' },
  variant: { label: 'Variant', kind: 'variant', placeholder: 'best', hint: 'For master playlists: best, worst, or the tallest at most this many pixels high (e.g. 720).' },
  format: { label: 'Format', kind: 'choice', choices: [['mp4', 'MP4'], ['mkv', 'MKV'], ['ts', 'MPEG-TS']] },
  max_speed: { label: 'Speed limit', kind: 'speed', placeholder: 'unlimited', hint: 'For this download, under the overall limit: e.g. 500K or 2M (per second).' },
  max_download_speed: { label: 'Overall speed limit', kind: 'speed', placeholder: 'unlimited', hint: 'Shared fairly by all running downloads: e.g. 500K, 5M or 1.5MB (per second). Applies at once.' },
  max_connections_per_host: { label: 'Connections per server', kind: 'int', placeholder: 'no limit', hint: 'Requests at once to one server, all downloads together; 0 = only Threads applies.' },
};

/** `5M`, `500K` or bytes: how a speed from the service reads back in its field; blank for unlimited. */
function speedText(value: unknown): string {
  if (typeof value !== 'number') return String(value ?? '');
  if (value <= 0) return '';
  for (const [unit, size] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (value >= size && Number.isInteger((value * 10) / size)) return `${value / size}${unit}`;
  }
  return String(value);
}

const PROXY_DETAILS: OptionKey[] = ['proxy_host', 'proxy_port', 'proxy_username', 'proxy_password'];

export interface FieldGroup {
  legend: string;
  keys: OptionKey[];
}

type Control = HTMLInputElement | HTMLSelectElement;

export class SettingsFields {
  readonly #controls = new Map<OptionKey, Control>();

  constructor(container: HTMLElement, groups: FieldGroup[], idPrefix: string) {
    for (const group of groups) {
      const fieldset = h('fieldset', { class: 'group' }, h('legend', {}, group.legend));
      const grid = h('div', { class: 'field-grid' });
      for (const key of group.keys) grid.append(this.#build(key, `${idPrefix}-${key.replaceAll('_', '-')}`));
      fieldset.append(grid);
      container.append(fieldset);
    }
    const type = this.#controls.get('proxy_type');
    type?.addEventListener('change', () => this.#syncProxy());
  }

  #build(key: OptionKey, id: string): HTMLElement {
    const spec = SPECS[key];
    const hintId = spec.hint ? `${id}-hint` : undefined;
    const hint = !spec.hint ? null
      : typeof spec.hint === 'string' ? h('p', { class: 'hint', id: hintId }, spec.hint)
      : h('div', { class: 'hint', id: hintId }, 'Comma-separated parts:',
        h('ul', { class: 'grammar' }, ...spec.hint.map(([syntax, meaning]) => h('li', {}, h('code', {}, syntax), ` ${meaning}`))));
    let control: Control;
    if (spec.kind === 'bool') {
      control = h('input', { type: 'checkbox', id, name: key, 'aria-describedby': hintId });
      this.#controls.set(key, control);
      return h('div', { class: 'field field-check' }, control, h('label', { for: id }, spec.label), hint);
    }
    if (spec.kind === 'choice') {
      control = h('select', { id, name: key, 'aria-describedby': hintId });
      for (const [value, label] of spec.choices ?? []) control.append(h('option', { value }, label));
    } else {
      control = h('input', {
        id,
        name: key,
        type: spec.kind === 'password' ? 'password' : 'text',
        inputmode: spec.kind === 'int' ? 'numeric' : undefined,
        placeholder: spec.placeholder,
        autocomplete: spec.kind === 'password' ? 'new-password' : 'off',
        spellcheck: 'false',
        list: spec.kind === 'variant' ? `${id}-choices` : undefined,
        'aria-describedby': hintId,
      });
    }
    this.#controls.set(key, control);
    const field = h('div', { class: `field field-${key.replaceAll('_', '-')}` }, h('label', { for: id }, spec.label), control, hint);
    if (spec.kind === 'variant') {
      field.append(h('datalist', { id: `${id}-choices` }, ...['best', 'worst', '2160', '1080', '720', '480', '360'].map((v) => h('option', { value: v }))));
    }
    return field;
  }

  /** Proxy details only matter with a proxy; disabling them says so. */
  #syncProxy(): void {
    const none = this.#controls.get('proxy_type')?.value === 'none';
    for (const key of PROXY_DETAILS) {
      const control = this.#controls.get(key);
      if (control) control.disabled = none;
    }
  }

  fill(values: Partial<TaskOptions>): void {
    for (const [key, control] of this.#controls) {
      const value = values[key];
      if (value === undefined) continue;
      if (control instanceof HTMLInputElement && control.type === 'checkbox') control.checked = Boolean(value);
      else if (SPECS[key].kind === 'speed') control.value = speedText(value);
      else control.value = String(value);
    }
    this.#syncProxy();
  }

  /**
   * Every field as the API takes it. Numbers that are not numbers are sent as typed,
   * so the API's message (shown at the field) says what is wrong.
   */
  read(): Partial<TaskOptions> {
    const out: Record<string, unknown> = {};
    for (const [key, control] of this.#controls) {
      const spec = SPECS[key];
      const raw = control.value.trim();
      if (spec.kind === 'bool') out[key] = (control as HTMLInputElement).checked;
      else if (spec.kind === 'int') out[key] = raw === '' ? 0 : /^-?\d+$/.test(raw) ? Number(raw) : raw;
      else if (spec.kind === 'variant') out[key] = /^\d+$/.test(raw) ? Number(raw) : raw || 'best';
      // Blank is unlimited; "5M" and the like go as typed and the service reads them.
      else if (spec.kind === 'speed') out[key] = raw === '' ? 0 : /^\d+$/.test(raw) ? Number(raw) : raw;
      else out[key] = spec.kind === 'password' ? control.value : raw;
    }
    return out as Partial<TaskOptions>;
  }

  control(key: string): Control | undefined {
    return this.#controls.get(key as OptionKey);
  }
}
