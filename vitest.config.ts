import { defineConfig } from 'vitest/config';

// Tests import the built package from dist/ (npm test runs the build first), so worker
// fixtures are plain JS files that `new Worker()` can start on Node 20.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
