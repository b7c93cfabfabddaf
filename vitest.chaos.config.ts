import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: the crash test on its own (CHAOS_KILLS sets how many kills; 10 by default).
export default defineConfig({
  test: {
    globals: false,
    include: ['test/chaos/**/*.chaos.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
    env: { M3U8DM_LOG_LEVEL: 'silent' },
  },
});
