// The access token (M3U8DM_TOKEN) as the browser keeps it: asked for once when the
// service answers 401, stored in localStorage, offered again only if it is refused.
import { byId } from './dom.js';
import { T } from './i18n.js';

const KEY = 'm3u8dm.token';
const listeners = new Set<(token: string) => void>();
let pending: Promise<string | null> | null = null;

export function currentToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the page still works without a token
  }
}

function saveToken(token: string): void {
  try {
    localStorage.setItem(KEY, token);
  } catch {
    // Not kept across reloads then, but this page keeps working.
  }
  for (const fn of listeners) fn(token);
}

/** Called with each newly entered token (the live stream reconnects with it). */
export function onTokenChange(fn: (token: string) => void): void {
  listeners.add(fn);
}

/**
 * The token to retry a request with after it was refused carrying `used`. Several
 * requests refused at once share one prompt; one refused with an old token takes the
 * newer one without asking. Null when the person closed the prompt.
 */
export function tokenAfter401(used: string | null): Promise<string | null> {
  const now = currentToken();
  if (now && now !== used) return Promise.resolve(now);
  pending ??= promptForToken(used !== null).finally(() => {
    pending = null;
  });
  return pending;
}

/** The header's "Token" button: enter a different token at any time. */
export function changeToken(): Promise<string | null> {
  pending ??= promptForToken(false).finally(() => {
    pending = null;
  });
  return pending;
}

function promptForToken(refused: boolean): Promise<string | null> {
  const dialog = byId('token-dialog', HTMLDialogElement);
  const input = byId('token-input', HTMLInputElement);
  const message = byId('token-message');
  message.textContent = refused ? T.tokenRefused : T.tokenAsk;
  message.classList.toggle('error-text', refused);
  input.value = '';
  byId('token-cancel', HTMLButtonElement).onclick = () => dialog.close('cancel');
  dialog.returnValue = '';
  dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const token = input.value.trim();
      if (dialog.returnValue !== 'ok' || !token) return resolve(null);
      saveToken(token);
      resolve(token);
    }, { once: true });
  });
}
