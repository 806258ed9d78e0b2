import { defineConfig } from 'vitest/config';

// `npx vitest` at the root runs every package's tests as one multi-project run; `npm test` runs
// them package by package through turbo (building dependencies first).
export default defineConfig({
  test: {
    projects: ['packages/*'],
  },
});
