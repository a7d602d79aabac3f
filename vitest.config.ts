import { configDefaults, defineConfig } from 'vitest/config';

// Tests run real servers and processes on a shared 2-core machine: deadlines are
// generous, and files run two at a time at most. Three projects, as the tree is laid
// out: `unit` (modules called directly; needs no build: `npm run test:unit`),
// `integration` (a real rexecd in the test process on 127.0.0.1) and `e2e` (the built
// programs as processes). `vitest run --project <name>` runs one of them.
export default defineConfig({
  test: {
    // Mutation testing's copies of the tree and its reports are not tests.
    exclude: [...configDefaults.exclude, '.stryker-tmp/**', 'reports/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    teardownTimeout: 10_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
