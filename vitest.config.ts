import { defineConfig } from 'vitest/config';

// Unit and CLI tests (Node, tfjs wasm/cpu backends). Browser tests live in vitest.e2e.config.ts.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // CLI tests that spawn bin/deepfaith.mjs run the TypeScript sources (through tsx), not the
    // pre-built bundle; tests/cli-bundle.test.ts runs both and compares them.
    env: { DEEPFAITH_CLI: 'source' },
  },
});
