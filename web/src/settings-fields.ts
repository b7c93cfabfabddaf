// The download settings as form fields, built from one description so the
// new-download form's advanced section and the settings page read the same.
import { h } from './dom.js';
import { T } from './i18n.js';
import type { FormOptionKey, TaskOptions } from './types.js';

export type OptionKey = FormOptionKey;

/** How each setting is edited; its label, placeholder and hint come from the catalogue (`T.field`). */
interface FieldSpec {
  kind: 'text' | 'int' | 'bool' | 'choice' | 'password' | 'variant' | 'speed';
  /** Values, and labels that are the same in every language (`HTTP`, `MP4`); `null` takes the catalogue's. */
  choices?: readonly (readonly [value: string, label: string | null])[];
  /** A placeholder that needs no translation (an address, a port). */
  placeholder?: string;
  /** Shows the skip grammar (src/downloader/skip-rules.ts) under the field. */
  grammar?: true;
}

const SPECS: Record<OptionKey, FieldSpec> = {
  save_location: { kind: 'text' },
  temp_directory: { kind: 'text' },
  download_threads: { kind: 'int' },
  skip_ts_info: { kind: 'text', grammar: true },
  proxy_type: { kind: 'choice', choices: [['none', null], ['http', 'HTTP'], ['https', 'HTTPS'], ['socks5', 'SOCKS5'], ['socks4', 'SOCKS4']] },
  proxy_host: { kind: 'text', placeholder: '127.0.0.1' },
  proxy_port: { kind: 'int', placeholder: '1080' },
  proxy_username: { kind: 'text' },
  proxy_password: { kind: 'password' },
  allow_insecure_https: { kind: 'bool' },
  keep_ts_files: { kind: 'bool' },
  use_server_file_time: { kind: 'bool' },
  no_merge_ts: { kind: 'bool' },
  debug_log: { kind: 'bool' },
  log_skipped_ts: { kind: 'bool' },
  variant: { kind: 'variant' },
  format: { kind: 'choice', choices: [['mp4', 'MP4'], ['mkv', 'MKV'], ['ts', 'MPEG-TS']] },
  max_speed: { kind: 'speed' },
  max_download_speed: { kind: 'speed' },
  max_connections_per_host: { kind: 'int' },
};

/** `5M`, `500K` or bytes: how a speed from the service reads back in its field; blank for unlimited. */
function speedText(value: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the service sends a number or a text here
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
    const words = T.field[key];
    const hintId = spec.grammar || words.hint ? `${id}-hint` : undefined;
    const hint = spec.grammar
      ? h('div', { class: 'hint', id: hintId }, T.skipGrammarIntro,
        h('ul', { class: 'grammar' }, ...T.skipGrammar.map(([syntax, meaning]) => h('li', {}, h('code', {}, syntax), ` ${meaning}`))))
      : words.hint ? h('p', { class: 'hint', id: hintId }, words.hint) : null;
    let control: Control;
    if (spec.kind === 'bool') {
      control = h('input', { type: 'checkbox', id, name: key, 'aria-describedby': hintId });
      this.#controls.set(key, control);
      return h('div', { class: 'field field-check' }, control, h('label', { for: id }, words.label), hint);
    }
    if (spec.kind === 'choice') {
      control = h('select', { id, name: key, 'aria-describedby': hintId });
      for (const [value, label] of spec.choices ?? []) control.append(h('option', { value }, label ?? T.noProxy));
    } else {
      control = h('input', {
        id,
        name: key,
        type: spec.kind === 'password' ? 'password' : 'text',
        inputmode: spec.kind === 'int' ? 'numeric' : undefined,
        placeholder: spec.placeholder ?? words.placeholder,
        autocomplete: spec.kind === 'password' ? 'new-password' : 'off',
        spellcheck: 'false',
        list: spec.kind === 'variant' ? `${id}-choices` : undefined,
        'aria-describedby': hintId,
      });
    }
    this.#controls.set(key, control);
    const field = h('div', { class: `field field-${key.replaceAll('_', '-')}` }, h('label', { for: id }, words.label), control, hint);
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
    return out;
  }

  control(key: string): Control | undefined {
    return this.#controls.get(key as OptionKey);
  }
}
