// How the benchmarks start the service as users run it: `node`, the flags of the
// binary's `#!/usr/bin/env -S node …` line (its small young generation is part of the
// memory figures), tsx's loader when running from source, then the CLI.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
/** The CLI beside this file's build: dist/src/cli.js from dist/bench, src/cli.ts from bench/. */
export const CLI = path.resolve(path.dirname(SELF), '..', 'src', SELF.endsWith('.ts') ? 'cli.ts' : 'cli.js');

/** `node`'s arguments before the CLI's own (`serve …`). */
export function serviceNodeArgs(): string[] {
  const shebang = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
  const flags = /^#!\/usr\/bin\/env -S node (.*)$/.exec(shebang)?.[1]?.split(' ').filter(Boolean) ?? [];
  const loader = CLI.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return [...flags, ...loader, CLI];
}
