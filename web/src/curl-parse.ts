// Turns a pasted curl command (as browsers' "Copy as cURL" writes it) into the URLs
// and headers of a download. Words are split as a POSIX shell would; of curl's flags
// only those that carry request headers matter, the rest are skipped with their values.

export interface CurlRequest {
  urls: string[];
  /** In command order; a name may repeat. */
  headers: [name: string, value: string][];
  /** Flags that were recognised as curl's but do not apply to a download. */
  ignored: string[];
}

/** Why a command could not be read; the page words it in its language (`T.curlError`). */
export type CurlParseReason = 'unclosedAnsi' | 'unclosedSingle' | 'unclosedDouble' | 'needsValue';

export class CurlParseError extends Error {
  override name = 'CurlParseError';
  constructor(message: string, readonly reason: CurlParseReason, readonly flag = '') {
    super(message);
  }
}

/** Short flags of curl that take a value (so the value is not mistaken for a URL). */
const SHORT_WITH_VALUE = new Set('AbcCdDeEFHKmoPQrtTuUwxXyYz'.split(''));
const LONG_WITH_VALUE = new Set([
  '--url', '--header', '--user-agent', '--referer', '--cookie', '--cookie-jar', '--data', '--data-raw', '--data-binary',
  '--data-urlencode', '--data-ascii', '--json', '--request', '--output', '--user', '--proxy', '--proxy-user', '--proxy-header',
  '--max-time', '--connect-timeout', '--range', '--upload-file', '--form', '--form-string', '--write-out', '--cacert', '--capath',
  '--cert', '--cert-type', '--key', '--key-type', '--config', '--resolve', '--connect-to', '--retry', '--retry-delay',
  '--retry-max-time', '--limit-rate', '--interface', '--dns-servers', '--dump-header', '--time-cond', '--speed-limit',
  '--speed-time', '--continue-at', '--max-filesize', '--max-redirs', '--output-dir', '--trace', '--trace-ascii', '--stderr',
  '--ciphers', '--tls-max', '--pinnedpubkey', '--local-port', '--unix-socket', '--abstract-unix-socket', '--oauth2-bearer',
  '--aws-sigv4', '--variable', '--expand-url', '--expand-header', '--preproxy', '--socks5', '--socks5-hostname', '--socks4',
  '--socks4a', '--noproxy', '--quote', '--create-file-mode', '--etag-save', '--etag-compare', '--hsts', '--alt-svc',
]);

/** `$'…'` (bash ANSI-C quoting, which Chrome's "Copy as cURL" uses for odd characters): text and the index after the closing quote. */
function ansiCQuoted(s: string, start: number): [string, number] {
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
  let out = '';
  let i = start;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "'") return [out, i + 1];
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = s[i + 1] ?? '';
    let m: RegExpExecArray | null;
    if (e in simple) {
      out += simple[e];
      i += 2;
    } else if ((m = /^x([0-9a-fA-F]{1,2})/.exec(s.slice(i + 1)))) {
      out += String.fromCharCode(parseInt(m[1]!, 16));
      i += 1 + m[0].length;
    } else if ((m = /^u([0-9a-fA-F]{1,4})|^U([0-9a-fA-F]{1,8})/.exec(s.slice(i + 1)))) {
      out += String.fromCodePoint(parseInt(m[1] ?? m[2]!, 16));
      i += 1 + m[0].length;
    } else if ((m = /^[0-7]{1,3}/.exec(s.slice(i + 1)))) {
      out += String.fromCharCode(parseInt(m[0], 8));
      i += 1 + m[0].length;
    } else {
      out += `\\${e}`;
      i += 2;
    }
  }
  throw new CurlParseError("a $'…' quote is not closed", 'unclosedAnsi');
}

/** Splits a command line into words the way bash does: quotes, backslashes, `\`-newline continuations. */
export function shellWords(input: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === '\\') {
      const next = input[i + 1];
      if (next === '\n') i += 2;
      else if (next === '\r' && input[i + 2] === '\n') i += 3;
      else if (next === undefined) i++;
      else {
        word += next;
        inWord = true;
        i += 2;
      }
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw new CurlParseError('a single quote is not closed', 'unclosedSingle');
      word += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '$' && input[i + 1] === "'") {
      const [text, end] = ansiCQuoted(input, i + 2);
      word += text;
      inWord = true;
      i = end;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= input.length) throw new CurlParseError('a double quote is not closed', 'unclosedDouble');
        const d = input[i]!;
        if (d === '"') break;
        // Inside double quotes a backslash escapes only these; elsewhere it stays.
        if (d === '\\' && '"\\$`\n'.includes(input[i + 1] ?? 'x')) {
          if (input[i + 1] !== '\n') word += input[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Windows "Copy as cURL (cmd)" escapes with `^` (`^"…^"`, `^` at line ends); undoing
 * that leaves plain double-quoted words.
 */
function fromCmdSyntax(command: string): string {
  if (!/\^["\r\n]/.test(command)) return command;
  return command.replace(/\^\r?\n/g, ' ').replace(/\^(.)/g, '$1');
}

/** `Name: value`; `Name;` means an empty value; `Name:` (curl's "remove this header") and `@file` give nothing. */
function headerFrom(raw: string): [string, string] | null {
  if (raw.startsWith('@')) return null;
  const colon = raw.indexOf(':');
  if (colon > 0) {
    const name = raw.slice(0, colon).trim();
    const value = raw.slice(colon + 1).trim();
    return value === '' ? null : [name, value];
  }
  if (raw.trimEnd().endsWith(';')) return [raw.trim().slice(0, -1).trim(), ''];
  return null;
}

export function parseCurl(command: string): CurlRequest {
  const words = shellWords(fromCmdSyntax(command.trim()));
  if (words[0] && /^curl(\.exe)?$/i.test(words[0].split(/[\\/]/).at(-1) ?? '')) words.shift();
  const result: CurlRequest = { urls: [], headers: [], ignored: [] };
  const header = (raw: string) => {
    const pair = headerFrom(raw);
    // HTTP/2 pseudo-headers (`:authority`) are not headers a client may set.
    if (pair && pair[0] && !pair[0].startsWith(':')) result.headers.push(pair);
  };
  /** One flag and its value; true when it was one of ours. */
  const apply = (flag: string, value: string): boolean => {
    switch (flag) {
      case '-H': case '--header': header(value); return true;
      case '-A': case '--user-agent': result.headers.push(['User-Agent', value]); return true;
      // `-e URL;auto` also sets Referer on redirects; the URL part is the header.
      case '-e': case '--referer': result.headers.push(['Referer', value.replace(/;auto$/, '')]); return true;
      // Without `=` the value names a cookie file, which a page cannot read.
      case '-b': case '--cookie': if (value.includes('=')) result.headers.push(['Cookie', value]); return true;
      case '--url': result.urls.push(value); return true;
      default: return false;
    }
  };

  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const nextValue = (flag: string): string => {
      const value = words[++i];
      if (value === undefined) throw new CurlParseError(`${flag} needs a value`, 'needsValue', flag);
      return value;
    };
    if (word === '--') {
      result.urls.push(...words.slice(i + 1));
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const flag = eq > 0 ? word.slice(0, eq) : word;
      if (!LONG_WITH_VALUE.has(flag)) {
        result.ignored.push(flag);
        continue;
      }
      const value = eq > 0 ? word.slice(eq + 1) : nextValue(flag);
      if (!apply(flag, value)) result.ignored.push(flag);
    } else if (word.startsWith('-') && word.length > 1) {
      // A cluster like `-sSL` or `-sH 'X: y'`: the first flag taking a value takes the rest.
      for (let j = 1; j < word.length; j++) {
        const flag = `-${word[j]}`;
        if (!SHORT_WITH_VALUE.has(word[j]!)) {
          result.ignored.push(flag);
          continue;
        }
        const value = j + 1 < word.length ? word.slice(j + 1) : nextValue(flag);
        if (!apply(flag, value)) result.ignored.push(flag);
        break;
      }
    } else {
      result.urls.push(word);
    }
  }
  return result;
}
