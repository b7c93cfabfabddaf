// A modal confirmation (the page's <dialog>: focus is trapped, Esc cancels) and short
// notices in a live region that screen readers announce.
import { byId, h } from './dom.js';

/** Resolves true when the person confirms. Cancel has the focus, so Enter alone never deletes. */
export function confirmAction(message: string, confirmLabel: string): Promise<boolean> {
  const dialog = byId('confirm-dialog', HTMLDialogElement);
  byId('confirm-message').textContent = message;
  byId('confirm-ok').textContent = confirmLabel;
  const cancel = byId('confirm-cancel', HTMLButtonElement);
  cancel.onclick = () => dialog.close('cancel');
  dialog.returnValue = '';
  dialog.showModal();
  cancel.focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

export function notify(message: string, kind: 'info' | 'error' = 'info'): void {
  const box = byId('notices');
  const note = h('p', { class: `notice notice-${kind}` }, message);
  box.append(note);
  window.setTimeout(() => note.remove(), kind === 'error' ? 8000 : 4000);
}
