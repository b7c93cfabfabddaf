// Shows the API's validation message at the field it names. v1 and compat messages
// start with the field path (`options.download_threads must be …`, `urls.1 must be …`,
// `options.skip_ts_info: invalid …`); several issues are joined with `; `.
import { h } from './dom.js';
import { T } from './i18n.js';

/** Where an error goes: the input, and optionally a prefix (`Line 2: `). */
export type FieldResolver = (path: string[]) => { input: HTMLElement; prefix?: string } | null;

/** `options.download_threads must be 1…` → path and the text after it. */
export function splitFieldPath(part: string): { path: string[]; text: string; colon: boolean } | null {
  const m = /^([A-Za-z_][\w-]*(?:\.[\w-]+)*)(:\s*|\s+)(.*)$/s.exec(part.trim());
  if (!m) return null;
  return { path: m[1]!.split('.'), text: m[3]!, colon: m[2]!.startsWith(':') };
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export class FieldErrors {
  readonly #summary: HTMLElement;
  readonly #resolve: FieldResolver;
  #marked: { input: HTMLElement; note: HTMLElement; describedBy: string | null }[] = [];

  constructor(summary: HTMLElement, resolve: FieldResolver) {
    this.#summary = summary;
    this.#resolve = resolve;
  }

  clear(): void {
    for (const { input, note, describedBy } of this.#marked) {
      input.removeAttribute('aria-invalid');
      if (describedBy) input.setAttribute('aria-describedby', describedBy);
      else input.removeAttribute('aria-describedby');
      note.remove();
    }
    this.#marked = [];
    this.#summary.textContent = '';
    this.#summary.hidden = true;
  }

  /** Places each part of `message` at its field; what names no field goes to the form's summary. */
  show(message: string): void {
    this.clear();
    const loose: string[] = [];
    for (const part of message.split('; ')) {
      const split = splitFieldPath(part);
      const target = split && this.#resolve(split.path);
      if (!split || !target) {
        loose.push(part);
        continue;
      }
      // "must be …" reads well under a label; a sentence of its own is kept whole.
      const text = split.colon || /^(must|is|has)\b/.test(split.text) ? split.text : part;
      this.at(target.input, `${target.prefix ?? ''}${capitalize(text)}`);
    }
    const summary = loose.length ? loose.join(' ') : T.fixField;
    this.#summary.textContent = loose.length && this.#marked.length ? `${summary} ${T.fixFieldToo}` : summary;
    this.#summary.hidden = false;
    this.#reveal();
  }

  /** One message at one input (also for checks made in the page). */
  at(input: HTMLElement, text: string): void {
    const id = `${input.id || 'field'}-error`;
    const note = h('p', { class: 'field-error', id }, text);
    const describedBy = input.getAttribute('aria-describedby');
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', describedBy ? `${id} ${describedBy}` : id);
    // Under the field's label and hint; a control outside a .field (a button) gets it after its group.
    (input.closest('.field') ?? input.parentElement ?? input).append(note);
    this.#marked.push({ input, note, describedBy });
  }

  /** Opens any collapsed section around the first marked field and moves the focus there. */
  #reveal(): void {
    const first = this.#marked[0]?.input;
    if (!first) {
      this.#summary.focus();
      return;
    }
    for (let el: HTMLElement | null = first; el; el = el.parentElement) {
      if (el instanceof HTMLDetailsElement) el.open = true;
    }
    first.focus();
  }
}
