// `npm run bench`: every benchmark in one run, so the ratios compare figures
// measured side by side on the same (noisy) machine. `npm run bench -- merge api`
// runs only those.
import { benchApi } from './api.js';
import { benchCluster } from './cluster.js';
import { benchDownload } from './download.js';
import { benchFollow } from './follow.js';
import { benchLimits } from './limits.js';
import { benchMerge } from './merge.js';
import { benchStore } from './store.js';

const suites: Record<string, () => Promise<Record<string, unknown>>> = {
  download: benchDownload,
  limits: benchLimits,
  merge: benchMerge,
  api: benchApi,
  follow: benchFollow,
  store: benchStore,
  cluster: benchCluster,
};

const wanted = process.argv.slice(2).filter((a) => a in suites);
const results: Record<string, Record<string, unknown>> = {};
for (const name of wanted.length ? wanted : Object.keys(suites)) {
  const started = Date.now();
  console.log(`\n=== ${name} ===`);
  results[name] = await suites[name]!();
  console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
console.log('\n=== summary (JSON) ===');
console.log(JSON.stringify(results, null, 2));
