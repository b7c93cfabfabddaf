// Bounds on the texts a task carries (`err_msg`, `status_bar`). A message may quote a URL,
// and a URL may be a megabyte of `data:` key or a query full of tokens: every answer that
// lists tasks, every event and the page would carry it all. URLs are cut to a readable
// head with an ellipsis, the whole text to a couple of kilobytes.

/** Longest `err_msg` / `status_bar`, in characters. */
export const MAX_TASK_TEXT = 2048;
/** Longest URL kept whole inside such a text. */
export const MAX_URL_IN_TEXT = 200;

const URL_IN_TEXT = /\b(?:https?:\/\/|data:)[^\s"'`<>]+/gi;

/** Cuts `text` to `max` characters (on a code point boundary), ending with `…` when cut. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max - 1);
  // Not in the middle of a surrogate pair.
  const safe = /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
  return `${safe}…`;
}

/** `text` with every URL in it at most MAX_URL_IN_TEXT characters and the whole at most MAX_TASK_TEXT. */
export function boundTaskText(text: string): string {
  // A huge text is cut first, so the URL pass never works through megabytes.
  const rough = text.length > MAX_TASK_TEXT * 4 ? text.slice(0, MAX_TASK_TEXT * 4) : text;
  const shortened = rough.replace(URL_IN_TEXT, (url) => cutText(url, MAX_URL_IN_TEXT));
  return cutText(shortened, rough.length < text.length ? Math.min(MAX_TASK_TEXT, shortened.length - 1) : MAX_TASK_TEXT);
}
