// The per-module gate of `npm run mutation`: reads Stryker's JSON report and fails,
// naming each one, when a guarded module (stryker.config.mjs GUARDED) is missing from
// the report or scores under its threshold. Stryker's own `thresholds.break` judges
// only the total over all files, so one well-tested module could hide a weak one.
//
// Score = (killed + timeout) / (killed + timeout + survived + no coverage), as Stryker
// counts it; mutants disabled in the source ("Ignored") and ones that do not compile or
// crash the runner are not in it.
import { readFileSync } from 'node:fs';
import config, { GUARDED } from '../stryker.config.mjs';

const reportPath = process.argv[2] ?? config.jsonReporter.fileName;

let report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch (error) {
  console.error(`mutation-check: cannot read ${reportPath}: ${error.message}`);
  process.exit(1);
}

/** Counts of one file's mutants by what became of them. */
function tally(mutants) {
  const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length;
  const detected = count('Killed', 'Timeout');
  const undetected = count('Survived', 'NoCoverage');
  return {
    detected,
    valid: detected + undetected,
    survived: count('Survived'),
    noCoverage: count('NoCoverage'),
    ignored: count('Ignored'),
  };
}

const files = report.files ?? {};
const rows = [];
const failures = [];
for (const [file, threshold] of Object.entries(GUARDED)) {
  const entry = files[file];
  if (entry === undefined) {
    rows.push({ file, score: 'missing', threshold });
    failures.push(`${file}: not in the report (was it mutated in this run?)`);
    continue;
  }
  const t = tally(entry.mutants);
  if (t.valid === 0) {
    rows.push({ file, score: 'no mutants', threshold });
    failures.push(`${file}: no valid mutants`);
    continue;
  }
  const score = (100 * t.detected) / t.valid;
  rows.push({ file, score: score.toFixed(1), threshold, ...t });
  if (score < threshold) {
    failures.push(
      `${file}: ${score.toFixed(1)}% is under ${threshold}% (${t.survived} survived, ${t.noCoverage} not covered)`,
    );
  }
}

const width = Math.max(...rows.map((r) => r.file.length));
console.log(`${'module'.padEnd(width)}  score   need  killed/valid  disabled`);
for (const r of rows) {
  const counts =
    r.valid === undefined
      ? ''
      : `${String(r.detected).padStart(6)}/${String(r.valid).padEnd(5)}  ${String(r.ignored).padStart(8)}`;
  console.log(`${r.file.padEnd(width)}  ${String(r.score).padStart(5)}  ${String(r.threshold).padStart(5)}  ${counts}`);
}
if (failures.length > 0) {
  console.error(`\nmutation-check: ${failures.length} module(s) under threshold:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log(`\nmutation-check: all ${rows.length} guarded modules meet their thresholds`);
