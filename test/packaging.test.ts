// What npm and the shell rely on: the bin, the engines range, and the node flags the
// service runs with being the same whether started by `npm start` or as `m3u8dm`.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
  type: string; bin: Record<string, string>; engines: { node: string }; scripts: Record<string, string>;
};

describe('packaging', () => {
  it('is an ES module package with the m3u8dm bin and Node >= 20.19', () => {
    expect(pkg.type).toBe('module');
    expect(pkg.bin).toEqual({ m3u8dm: 'dist/src/cli.js' });
    expect(pkg.engines.node).toBe('>=20.19');
  });

  it('starts the service with the same node flags as the binary', async () => {
    const shebang = (await readFile(new URL('../src/cli.ts', import.meta.url), 'utf8')).split('\n', 1)[0]!;
    const flags = /^#!\/usr\/bin\/env -S node (.*)$/.exec(shebang)?.[1];
    expect(flags).toBeTruthy();
    expect(pkg.scripts.start).toBe(`node ${flags} dist/src/cli.js serve`);
  });
});
