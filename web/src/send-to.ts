// "Send to m3u8dm": the bookmarklet the settings page offers, and the prefill that
// its target (and any `/add?url=…&name=…&referer=…` link) asks of the new-download
// form. The bookmarklet only opens this page (a top-level GET): it never posts from
// the other site, so the person confirms the download here.

export interface AddRequest {
  url: string;
  name: string;
  referer: string;
}

/** The `/add` address of this service, wherever the page is served from (a proxy's sub-path included). */
export function addUrl(): string {
  return new URL('add', location.href.split('#')[0]).href;
}

/**
 * The bookmarklet: the current page's address (m3u8dm follows a page to its playlist),
 * its title as the file name and the page as Referer, sent to `/add` in a new tab
 * (or this one, when pop-ups are blocked).
 */
export function bookmarklet(target = addUrl()): string {
  const code = `(function(){var u=location.href,a=${JSON.stringify(target)}+'?url='+encodeURIComponent(u)+'&name='+encodeURIComponent(document.title||'')+'&referer='+encodeURIComponent(u);if(!window.open(a,'_blank'))location.href=a;})();`;
  return `javascript:${encodeURIComponent(code)}`;
}

/** What `#/new?url=…&name=…&referer=…` asks to fill in, or null when it asks nothing. */
export function addRequestFromHash(hash = location.hash): AddRequest | null {
  const cut = hash.indexOf('?');
  if (cut < 0) return null;
  const params = new URLSearchParams(hash.slice(cut + 1));
  const url = params.get('url')?.trim() ?? '';
  if (!url) return null;
  return { url, name: (params.get('name') ?? '').trim().slice(0, 200), referer: (params.get('referer') ?? '').trim() };
}
