// Chooses one variant of a master playlist according to the task's `variant` option.
import type { VariantChoice } from '../types.js';
import type { Variant } from './media-playlist.js';

const bandwidthOf = (v: Variant) => v.bandwidth ?? 0;
const heightOf = (v: Variant) => v.height ?? 0;

/** Higher bandwidth wins; height breaks ties. */
function better(a: Variant, b: Variant): Variant {
  if (bandwidthOf(a) !== bandwidthOf(b)) return bandwidthOf(a) > bandwidthOf(b) ? a : b;
  return heightOf(a) >= heightOf(b) ? a : b;
}

/**
 * `best`: highest bandwidth. `worst`: lowest. A number N: the best variant whose
 * height is at most N, or the smallest one when none fits.
 */
export function pickVariant(variants: readonly Variant[], choice: VariantChoice): Variant {
  if (variants.length === 0) throw new Error('pickVariant needs at least one variant');
  if (choice === 'worst') return variants.reduce((a, b) => (better(a, b) === a ? b : a));
  if (choice === 'best' || !Number.isFinite(choice)) return variants.reduce(better);

  const fitting = variants.filter((v) => v.height !== undefined && v.height <= choice);
  if (fitting.length > 0) return fitting.reduce(better);
  // Nothing is small enough: the smallest picture (unknown heights count as large), then the lowest bandwidth.
  return variants.reduce((a, b) => {
    const ha = a.height ?? Infinity;
    const hb = b.height ?? Infinity;
    if (ha !== hb) return ha < hb ? a : b;
    return bandwidthOf(a) <= bandwidthOf(b) ? a : b;
  });
}
