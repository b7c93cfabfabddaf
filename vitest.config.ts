import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: false,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more workers only make the real-ffmpeg suites fight for CPU.
    maxWorkers: 2,
    env: { M3U8DM_LOG_LEVEL: 'silent' },
  },
});
