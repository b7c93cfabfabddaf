// Small DOM helpers: build elements in one expression, find the page's fixed ones,
// and change text only when it differs (so live updates touch as little as possible).

type AttrValue = string | number | boolean | null | undefined;
type Child = Node | string | null | undefined | false;

/** `h('button', { class: 'x', type: 'button' }, 'Pause')`. `true` sets an empty attribute; false/null/undefined skip it. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, AttrValue> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

/** An element the page's HTML must have, of the expected kind. */
export function byId<T extends HTMLElement = HTMLElement>(id: string, kind?: { new (): T; prototype: T }): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  if (kind && !(el instanceof kind)) throw new Error(`page element #${id} is not a ${kind.name}`);
  return el as T;
}

export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export function setAttr(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** Calls `fn` once, `ms` after the last of a burst of calls. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
  let timer: number | undefined;
  return (...args: A) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), ms);
  };
}

/** Calls `fn` at most once per `ms`; a call inside the window runs at its end. */
export function throttle(fn: () => void, ms: number): () => void {
  let last = 0;
  let timer: number | undefined;
  return () => {
    if (timer !== undefined) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) {
      last = Date.now();
      fn();
      return;
    }
    timer = window.setTimeout(() => {
      timer = undefined;
      last = Date.now();
      fn();
    }, wait);
  };
}
