// Mutation testing of the code that guards users (TESTING.md): StrykerJS changes one
// line at a time in the modules below, and the unit tests must notice each change.
// `npm run mutation` runs it incrementally, then scripts/mutation-check.mjs fails
// naming every module whose score is under its threshold.

/**
 * The guarded modules and the score (killed / valid mutants, percent) each must keep.
 * One line per module: adding a guard is adding a line here.
 */
export const GUARDED = {
  'src/protocol/frame-decoder.ts': 90,
  'src/protocol/frame-encoder.ts': 90,
  'src/protocol/auth-proof.ts': 90,
  'src/server/auth-guard.ts': 90,
  'src/protocol/lockout.ts': 90,
  'src/server/admission.ts': 90,
  'src/server/connection-gate.ts': 90,
  'src/server/log-text.ts': 90,
  'src/cli/rexecd/stderr-logger.ts': 90,
  'src/server/refusal-tally.ts': 90,
  'src/server/descriptors.ts': 90,
  'src/server/launch.ts': 90,
  'src/server/cgroups/limits.ts': 90,
  'src/server/cgroups/layout.ts': 90,
  'src/server/oom-score.ts': 90,
  'src/server/group-ledger.ts': 90,
  'src/server/group-members.ts': 90,
  'src/server/proc-stat.ts': 90,
  'src/server/files/link-owners.ts': 90,
  'src/server/paths.ts': 90,
  'src/server/environment.ts': 90,
  'src/server/files/target.ts': 90,
  'src/server/files/transfer-policy.ts': 90,
  'src/server/files/helper-protocol.ts': 90,
  'src/server/peer-watch.ts': 90,
  'src/server/policy/user-policy.ts': 90,
};

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // forks: the threads pool has no process.setgroups, which runAs needs.
  // The unit tests only (see that file): a mutant never waits for a server.
  vitest: { configFile: 'vitest.mutation.config.ts', pool: 'forks' },
  mutate: Object.keys(GUARDED),
  coverageAnalysis: 'perTest',
  // Mutants are written to a copy of the tree (.stryker-tmp), never to src/: a run
  // that is killed leaves the working tree as it was.
  inPlace: false,
  incremental: true,
  incrementalFile: 'test/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowEmojis: false, logTests: false },
  // Per-module thresholds are checked by scripts/mutation-check.mjs; Stryker's own
  // break threshold would only judge the total.
  thresholds: { high: 90, low: 80, break: null },
  // A loaded 2-core machine: generous timeouts rather than false "Timeout" kills.
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
