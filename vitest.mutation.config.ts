import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests a mutation run uses (stryker.config.mjs): the unit tests, which call the
// guards directly, so that no mutant waits for a server. Chosen here rather than with
// Stryker's `testFiles`, which in 10.x activates module-level mutants only after the
// module has loaded (they would all "survive"). The base config's projects are left
// out: this config is the unit project alone.
const { projects: _projects, ...shared } = base.test ?? {};

export default defineConfig({
  ...base,
  test: { ...shared, include: ['test/unit/**/*.test.ts'] },
});
