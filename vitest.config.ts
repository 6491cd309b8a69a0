import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run on sources: packages export `src/` under the `source` condition.
    conditions: ['source'],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
