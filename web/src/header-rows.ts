// The new-download form's HTTP headers as editable name/value rows.
import { h } from './dom.js';
import { T } from './i18n.js';

export class HeaderRows {
  readonly #list: HTMLElement;
  #made = 0;

  constructor(list: HTMLElement, addButton: HTMLButtonElement) {
    this.#list = list;
    addButton.addEventListener('click', () => this.add('', '', true));
    this.set([]);
  }

  /** Replaces every row; one empty row stays so there is always somewhere to type. */
  set(pairs: readonly (readonly [string, string])[]): void {
    this.#list.replaceChildren();
    for (const [name, value] of pairs) this.add(name, value);
    if (!pairs.length) this.add('', '');
  }

  add(name: string, value: string, focus = false): void {
    const n = ++this.#made;
    const nameInput = h('input', { type: 'text', class: 'h-name', id: `hdr-name-${n}`, placeholder: T.headerNamePlaceholder, autocomplete: 'off', spellcheck: 'false' });
    const valueInput = h('input', { type: 'text', class: 'h-value', id: `hdr-value-${n}`, placeholder: T.headerValuePlaceholder, autocomplete: 'off', spellcheck: 'false' });
    nameInput.value = name;
    valueInput.value = value;
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': T.removeHeaderLabel }, T.removeHeader);
    const row = h('div', { class: 'header-row field' },
      h('label', { class: 'visually-hidden', for: nameInput.id }, T.headerName), nameInput,
      h('label', { class: 'visually-hidden', for: valueInput.id }, T.headerValue), valueInput,
      remove);
    remove.addEventListener('click', () => {
      row.remove();
      if (!this.#list.children.length) this.add('', '', true);
      else this.#list.querySelector<HTMLInputElement>('.h-name')?.focus();
    });
    this.#list.append(row);
    if (focus) nameInput.focus();
  }

  /** Filled rows, trimmed; a row with neither name nor value does not count. */
  pairs(): [string, string][] {
    const out: [string, string][] = [];
    for (const row of this.#list.querySelectorAll('.header-row')) {
      const name = row.querySelector<HTMLInputElement>('.h-name')!.value.trim();
      const value = row.querySelector<HTMLInputElement>('.h-value')!.value.trim();
      if (name || value) out.push([name, value]);
    }
    return out;
  }

  /** The API's header map: one name, every value given for it. */
  toMap(): Record<string, string[]> {
    const map: Record<string, string[]> = {};
    for (const [name, value] of this.pairs()) (map[name] ??= []).push(value);
    return map;
  }

  /** The name input of the first row for `name` (any case); for '' the first row with a value but no name. */
  inputFor(name: string): HTMLInputElement | null {
    for (const row of this.#list.querySelectorAll('.header-row')) {
      const nameInput = row.querySelector<HTMLInputElement>('.h-name')!;
      const given = nameInput.value.trim();
      if (given.toLowerCase() !== name.toLowerCase()) continue;
      if (name === '' && !row.querySelector<HTMLInputElement>('.h-value')!.value.trim()) continue;
      return nameInput;
    }
    return null;
  }
}
