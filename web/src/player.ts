// The page's own player: a finished MP4 in a <video>, in a modal dialog. The video loads
// through a signed link (a <video> cannot send the token), so seeking works by Range.
import { fileLink } from './api.js';
import { notify } from './dialogs.js';
import { byId } from './dom.js';
import { T } from './i18n.js';

export async function playTask(id: number, name: string): Promise<void> {
  const dialog = byId('player-dialog', HTMLDialogElement);
  const video = byId('player-video', HTMLVideoElement);
  let src: string;
  try {
    src = await fileLink(id, 'inline');
  } catch (err) {
    notify(T.playFailed((err as Error).message), 'error');
    return;
  }
  byId('player-title').textContent = T.playerTitle(name);
  byId('player-close', HTMLButtonElement).onclick = () => dialog.close();
  dialog.addEventListener('close', () => {
    // Stops the download of the rest of the file too.
    video.pause();
    video.removeAttribute('src');
    video.load();
  }, { once: true });
  video.src = src;
  dialog.showModal();
  void video.play().catch(() => undefined);
}

/** Starts the browser's own download of the task's file (with its real name). */
export async function downloadTask(id: number): Promise<void> {
  try {
    const href = await fileLink(id, 'attachment');
    const a = document.createElement('a');
    a.href = href;
    a.download = '';
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
  } catch (err) {
    notify(T.downloadFailed((err as Error).message), 'error');
  }
}
