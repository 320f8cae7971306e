import { defineConfig } from 'vitest/config';

// Browser tests: the built studio (dist/) served by `vite preview`, driven by playwright-core
// through Debian's Chromium (CHROMIUM_PATH). One browser for the whole run.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 120_000,
  },
});
