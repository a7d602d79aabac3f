import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests a mutation run uses (stryker.config.mjs): the unit tests, which call the
// guards directly, so that no mutant waits for a server. Chosen here rather than with
// Stryker's `testFiles`, which in 10.x activates module-level mutants only after the
// module has loaded (they would all "survive").
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/unit/**/*.test.ts'] },
});
