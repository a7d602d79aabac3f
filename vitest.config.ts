import { configDefaults, defineConfig } from 'vitest/config';

// Tests run real servers and processes on a shared 2-core machine: deadlines are
// generous, and files run two at a time at most.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Mutation testing's copies of the tree and its reports are not tests.
    exclude: [...configDefaults.exclude, '.stryker-tmp/**', 'reports/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    teardownTimeout: 10_000,
  },
});
