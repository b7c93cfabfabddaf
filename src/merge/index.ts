// The merge stage's public surface: ffmpeg discovery and the merge itself.
export { locateFfmpeg, parseFfmpegVersion, type FfmpegInfo, type FfmpegSource } from './ffmpeg-locate.js';
export { mergeSegments, splitIntoRuns, type MergeInput, type MergeResult } from './merge-segments.js';
export { MergeFollower, type FollowMergeOptions, type FollowedMerge } from './follow-merge.js';
export { MergeError, FfmpegNotFoundError } from './errors.js';
export { makePoster, type PosterInput } from './poster.js';
export { runFfmpeg, type FfmpegRun, type FfmpegRunResult } from './run-ffmpeg.js';
export { uniqueOutputPath, uniqueDirectory } from './output-path.js';
