// Which hosts get a task's Cookie and Authorization headers: the task URL's origin, and
// the origins or hosts the user lists in `header_hosts`. A playlist may name segments
// and keys on any host; sending them the user's session there is how yt-dlp's
// CVE-2023-35934 leaked cookies. Other headers (Referer, User-Agent, custom) still go
// everywhere, as CDNs often check them.

/** Header names (lower case) that carry the user's credentials. */
export const CREDENTIAL_HEADERS = ['cookie', 'authorization'] as const;

export interface CredentialScope {
  /** Whether a request to `url` may carry the credentials. */
  allows(url: string): boolean;
}

/** Splits got-style headers (lower-case names) into the credentials and the rest. */
export function splitCredentials(headers: Record<string, string | string[]>): {
  common: Record<string, string | string[]>;
  credentials: Record<string, string | string[]>;
} {
  const common: Record<string, string | string[]> = {};
  const credentials: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if ((CREDENTIAL_HEADERS as readonly string[]).includes(name)) credentials[name] = value;
    else common[name] = value;
  }
  return { common, credentials };
}

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/**
 * The scope of a task at `taskUrl`. An entry of `hosts` with a scheme (`https://cdn.example:8443`)
 * allows that origin exactly; one without (`cdn.example`, `cdn.example:8443`) that host name on
 * any scheme and port, or that host and port.
 */
export function credentialScope(taskUrl: string, hosts: readonly string[] = []): CredentialScope {
  const origins = new Set<string>();
  const names = new Set<string>();
  const task = parse(taskUrl);
  if (task) origins.add(task.origin);
  for (const entry of hosts.map((h) => h.trim().toLowerCase()).filter(Boolean)) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//.test(entry) ? parse(entry) : undefined;
    if (withScheme) origins.add(withScheme.origin);
    else names.add(entry.replace(/\/$/, ''));
  }
  return {
    allows(url) {
      const target = parse(url);
      if (!target) return false;
      return origins.has(target.origin) || names.has(target.hostname) || names.has(target.host);
    },
  };
}
