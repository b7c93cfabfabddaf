// The text of the `log_skipped_ts` file: which segments were left out and why.
import type { SkippedSegment } from '../types.js';

/**
 * One line per skipped segment, `<1-based number>\t<reason>\t<uri>`, after a
 * comment line with the count. Numbers are 1-based like the skip rules.
 */
export function formatSkippedLog(skipped: readonly SkippedSegment[]): string {
  const lines = [`# ${skipped.length} skipped segment${skipped.length === 1 ? '' : 's'} (number, reason, uri)`];
  for (const s of [...skipped].sort((a, b) => a.index - b.index)) lines.push(`${s.index + 1}\t${s.reason}\t${s.uri}`);
  return `${lines.join('\n')}\n`;
}
