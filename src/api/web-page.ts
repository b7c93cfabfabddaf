// Serves the browser page (web/): index.html, style.css and the compiled scripts in
// web/dist. Nothing here needs the token: the page loads without one and its API
// calls carry it. Files are revalidated on every load (ETag), so a rebuilt page is
// picked up at once while an unchanged one costs a 304.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Response, type Router } from 'express';

/**
 * The web/ folder: two levels up from src/api when run from source (tsx), three from
 * dist/src/api when built. Searching upwards covers both without knowing which.
 */
export function findWebRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from, i = 0; i < 5; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'web');
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
  }
  throw new Error(`cannot find the web page folder (web/index.html) above ${from}`);
}

/**
 * Only what the page itself loads: no external origin, no inline script. The page
 * works offline and a stray injected script has nowhere to run.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  // blob: for the thumbnails, fetched with the token and shown from memory.
  "img-src 'self' data: blob:",
  "media-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function setHeaders(res: Response): void {
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

export function webPage(root = findWebRoot()): Router {
  const router = express.Router();
  const fileOptions = { root, cacheControl: false, lastModified: true, etag: true, dotfiles: 'deny' as const };

  const page = (_req: express.Request, res: Response) => {
    setHeaders(res);
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.sendFile('index.html', fileOptions);
  };
  router.get(['/', '/index.html'], page);
  // The "send to m3u8dm" entry point (bookmarklet, browser extensions, phone shortcuts): it opens
  // the new-download form filled in and never creates a task itself, so the person confirms in
  // this page. A GET navigation, so no other site ever posts to the service.
  router.get('/add', (req, res) => {
    const params = new URLSearchParams();
    for (const name of ['url', 'name', 'referer']) {
      const value = req.query[name];
      if (typeof value === 'string' && value !== '') params.set(name, value.slice(0, 8192));
    }
    setHeaders(res);
    res.setHeader('Referrer-Policy', 'no-referrer');
    const query = params.toString();
    res.redirect(303, `./#/new${query ? `?${query}` : ''}`);
  });
  router.get('/style.css', (_req, res) => {
    setHeaders(res);
    res.sendFile('style.css', fileOptions);
  });
  // Compiled modules and their source maps; web/src is not served.
  router.use('/dist', express.static(path.join(root, 'dist'), {
    index: false,
    fallthrough: true,
    cacheControl: false,
    setHeaders,
  }));
  return router;
}
