// The URLs `add` queues: from the command line, from files (`-f FILE`) and from
// stdin (`-`), one per line; blank lines and `#` comments are skipped.
import { readFile } from 'node:fs/promises';
import { UsageError } from './errors.js';
import { isHttpUrl } from './option-parsers.js';

export interface UrlSource {
  /** Where it came from, for messages: `urls.txt`, `stdin`, `argument`. */
  name: string;
  text: string;
}

/** URLs of a list, in order. A line that is no http(s) URL is a UsageError naming file and line. */
export function parseUrlList(source: UrlSource): string[] {
  const urls: string[] = [];
  source.text.split(/\r?\n/).forEach((raw, i) => {
    // A `#` opens a comment at the start of a line or after a blank; in a URL it is a fragment.
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    if (!isHttpUrl(line)) throw new UsageError(`${source.name}:${i + 1}: expected an http:// or https:// URL, got \`${line}\``);
    urls.push(line);
  });
  return urls;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('`-` reads URLs from stdin, but stdin is a terminal — pipe a list in, e.g. `cat urls.txt | m3u8dm add -`');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Every URL from the arguments (`-` meaning stdin) and the `-f` files, in that order. */
export async function collectUrls(args: string[], files: string[]): Promise<string[]> {
  const urls: string[] = [];
  let stdinRead = false;
  const fromStdin = async () => {
    if (stdinRead) return [];
    stdinRead = true;
    return parseUrlList({ name: 'stdin', text: await readStdin() });
  };
  for (const arg of args) {
    if (arg === '-') urls.push(...(await fromStdin()));
    else if (isHttpUrl(arg)) urls.push(arg);
    else throw new UsageError(`expected an http:// or https:// URL, got \`${arg}\` (use -f FILE for a list in a file)`);
  }
  for (const file of files) {
    if (file === '-') {
      urls.push(...(await fromStdin()));
      continue;
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const found = parseUrlList({ name: file, text });
    if (found.length === 0) throw new UsageError(`${file} holds no URLs (one per line; blank lines and # comments are skipped)`);
    urls.push(...found);
  }
  if (urls.length === 0) throw new UsageError('add needs at least one URL: give URLs, -f FILE, or - to read them from stdin');
  return urls;
}
