import { defineConfig } from 'vitest/config';

// The browser test builds the page, serves it and drives Chromium: one file, generous timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
