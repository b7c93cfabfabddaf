// The page's pure pieces, run directly: the curl command reader (as browsers write
// "Copy as cURL" for bash and for cmd), the API error path splitter, URL shortening.
import { describe, expect, test } from 'vitest';
import { CurlParseError, parseCurl, shellWords } from '../web/src/curl-parse.js';
import { splitFieldPath } from '../web/src/field-errors.js';
import { formatEta, shortenUrl } from '../web/src/format.js';

describe('shellWords', () => {
  test('splits as bash does: quotes, escapes, continuations, ANSI-C quoting', () => {
    expect(shellWords(`a 'b c' "d \\"e\\" \\$f \\x" g\\ h \\\n i $'j\\tk\\x41\\u00e9\\'' "" ''`)).toEqual([
      'a', 'b c', 'd "e" $f \\x', 'g h', 'i', 'j\tkAé\'', '', '',
    ]);
    expect(shellWords('x"y"\'z\'')).toEqual(['xyz']);
  });

  test('an unclosed quote is an error, not a guess', () => {
    expect(() => shellWords(`curl 'http://x`)).toThrow(CurlParseError);
    expect(() => shellWords(`curl "http://x`)).toThrow(/double quote/);
    expect(() => shellWords(`curl $'http://x`)).toThrow(/not closed/);
  });
});

describe('parseCurl', () => {
  test("Chrome's Copy as cURL (bash)", () => {
    const command = `curl 'https://cdn.example.com/hls/master.m3u8?token=abc' \\
  -H 'accept: */*' \\
  -H 'origin: https://www.example.com' \\
  -H $'referer: https://www.example.com/watch?v=it\\'s' \\
  -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64)' \\
  -b 'sid=1; theme=dark' \\
  --compressed`;
    expect(parseCurl(command)).toEqual({
      urls: ['https://cdn.example.com/hls/master.m3u8?token=abc'],
      headers: [
        ['accept', '*/*'],
        ['origin', 'https://www.example.com'],
        ['referer', "https://www.example.com/watch?v=it's"],
        ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64)'],
        ['Cookie', 'sid=1; theme=dark'],
      ],
      ignored: ['--compressed'],
    });
  });

  test("Chrome's Copy as cURL (cmd), with ^ escapes and ^ line ends", () => {
    const command = 'curl ^"https://example.com/a.m3u8^" ^\r\n  -H ^"Referer: https://example.com/^" ^\r\n  --compressed';
    expect(parseCurl(command)).toMatchObject({ urls: ['https://example.com/a.m3u8'], headers: [['Referer', 'https://example.com/']] });
  });

  test('-A, -e (without ;auto), --header=, --url, clusters like -sSL and -sH', () => {
    const r = parseCurl(`curl -sSL -A UA/1 -e 'https://r.example/;auto' --header='X-One: 1' -sH'X-Two: 2' --url https://u.example/i.m3u8`);
    expect(r.urls).toEqual(['https://u.example/i.m3u8']);
    expect(r.headers).toEqual([['User-Agent', 'UA/1'], ['Referer', 'https://r.example/'], ['X-One', '1'], ['X-Two', '2']]);
    expect(r.ignored).toEqual(['-s', '-S', '-L', '-s']);
  });

  test('values of other flags are skipped, not taken for URLs', () => {
    const r = parseCurl(`curl -X POST -d 'a=1' --data-raw '{"b":2}' -o out.ts -u me:pw -x http://proxy:3128 --max-time 5 http://h/x.m3u8`);
    expect(r.urls).toEqual(['http://h/x.m3u8']);
    expect(r.headers).toEqual([]);
    expect(r.ignored).toEqual(['-X', '-d', '--data-raw', '-o', '-u', '-x', '--max-time']);
  });

  test("curl's header edge cases: `Name;` is empty, `Name:` removes, @file and cookie files give nothing", () => {
    const r = parseCurl(`curl http://h/x.m3u8 -H 'X-Empty;' -H 'Accept:' -H @headers.txt -b cookies.txt -H ':authority: h'`);
    expect(r.headers).toEqual([['X-Empty', '']]);
  });

  test('works without the leading `curl` and with several URLs', () => {
    expect(parseCurl(`'http://a/1.m3u8' http://a/2.m3u8 -- -weird-name.m3u8`).urls).toEqual(['http://a/1.m3u8', 'http://a/2.m3u8', '-weird-name.m3u8']);
  });

  test('a flag missing its value is an error', () => {
    expect(() => parseCurl('curl http://h/x.m3u8 -H')).toThrow('-H needs a value');
  });
});

describe('splitFieldPath', () => {
  test('finds the field path an API message starts with', () => {
    expect(splitFieldPath('options.download_threads must be an integer from 1 to 128, got `0` (number)'))
      .toEqual({ path: ['options', 'download_threads'], text: 'must be an integer from 1 to 128, got `0` (number)', colon: false });
    expect(splitFieldPath('urls.1 must be an http:// or https:// URL')?.path).toEqual(['urls', '1']);
    expect(splitFieldPath('options.skip_ts_info: invalid skip_ts_info part "x": expected N')).toMatchObject({ path: ['options', 'skip_ts_info'], colon: true, text: 'invalid skip_ts_info part "x": expected N' });
    expect(splitFieldPath('headers.X-Foo: header `X-Foo` has a line break')?.path).toEqual(['headers', 'X-Foo']);
    expect(splitFieldPath('`weird` text')).toBeNull();
  });
});

describe('format', () => {
  test('shortenUrl keeps the host and the file', () => {
    expect(shortenUrl('https://cdn.example.com/a/b/c/index.m3u8?sig=123')).toBe('cdn.example.com/…/index.m3u8?…');
    expect(shortenUrl('https://cdn.example.com/index.m3u8')).toBe('cdn.example.com/index.m3u8');
    expect(shortenUrl('https://x.example/a/' + 'n'.repeat(80) + '.m3u8').length).toBeLessThanOrEqual(56);
    expect(shortenUrl('not a url')).toBe('not a url');
  });

  test('formatEta', () => {
    expect(formatEta(null)).toBe('—');
    expect(formatEta(42)).toBe('0:42');
    expect(formatEta(3723)).toBe('1:02:03');
  });
});
