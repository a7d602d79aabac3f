// `npm run mutation [-- stryker options]`: mutation testing of the guarded modules
// (stryker.config.mjs), then the per-module threshold check (mutation-check.mjs).
//
// StrykerJS 10 needs Node 22 or later; the project runs on Node 20. `npx -p node@24`
// puts a Node 24 from the registry first on the PATH of this one command, so Stryker,
// its workers and the test processes it starts run on it, and the system's Node stays.
//
// Options go to `stryker run`: `--force` reruns every mutant instead of reusing the
// committed incremental results, `--mutate src/server/paths.ts` tests one module (the
// others keep their results in the report), `--concurrency 2` on a busy machine.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import config from '../stryker.config.mjs';

const NODE = 'node@24';
const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const incrementalFile = join(root, config.incrementalFile);

/**
 * What a run found, without what Stryker renumbers or reorders on every run (ids,
 * order, the checkout's path): the mutants' places and statuses, and the tests'
 * sources and names.
 */
function results(text) {
  const report = JSON.parse(text);
  const files = Object.entries(report.files ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, file]) => [
      name,
      file.source,
      file.mutants.map((m) => JSON.stringify([m.location, m.mutatorName, m.replacement, m.status])).sort(),
    ]);
  const tests = Object.entries(report.testFiles ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, file]) => [name, file.source, file.tests.map((t) => t.name).sort()]);
  return JSON.stringify([files, tests]);
}

const before = existsSync(incrementalFile) ? readFileSync(incrementalFile, 'utf8') : undefined;
const started = Date.now();
const stryker = spawnSync('npx', ['--yes', '--package', NODE, '--', 'stryker', 'run', ...args], {
  cwd: root,
  stdio: 'inherit',
});
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
// Keep the committed file as it was when the run found the same: only a change of
// results should show up in `git status`.
if (before !== undefined && existsSync(incrementalFile)) {
  const after = readFileSync(incrementalFile, 'utf8');
  if (after !== before && results(after) === results(before)) writeFileSync(incrementalFile, before);
}
if (stryker.error !== undefined) {
  console.error(`mutation: cannot start Stryker: ${stryker.error.message}`);
  process.exit(1);
}
if (stryker.status !== 0) {
  console.error(`mutation: Stryker failed (${stryker.signal ?? `status ${stryker.status}`}) after ${minutes} min`);
  process.exit(stryker.status ?? 1);
}
console.log(`\nmutation: Stryker ran for ${minutes} min\n`);
const check = spawnSync(process.execPath, [fileURLToPath(new URL('./mutation-check.mjs', import.meta.url))], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(check.status ?? 1);
