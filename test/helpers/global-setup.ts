// Builds every HLS fixture once before the suites start (ffmpeg, cached across runs).
import { ensureAllFixtures } from './hls-fixtures.js';

export default async function setup(): Promise<void> {
  await ensureAllFixtures();
}
