// How results read: one line per check (status, id, docs/protocol.md section, what it
// checks), the reason indented below a failure or a skip, a summary line, and the
// same as one JSON object for machines.
import type { CheckResult } from './check.js';

/** Counts of each status. */
export interface Tally {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

/** The JSON form of a run (`--json`). */
export interface JsonReport extends Tally {
  readonly subject: string;
  readonly ok: boolean;
  readonly results: readonly CheckResult[];
}

const ID_WIDTH = 36;

/** The line (and reason line) of one result, ending with a newline. */
export function formatResult(result: CheckResult): string {
  const status = result.status.toUpperCase().padEnd(4);
  const section = `§${result.section}`.padEnd(5);
  let text = `${status}  ${result.id.padEnd(ID_WIDTH)} ${section} ${result.title}\n`;
  if (result.reason !== '') text += `      ${result.status === 'pass' ? 'note: ' : '-> '}${result.reason}\n`;
  return text;
}

/** How many passed, failed and were skipped. */
export function tally(results: readonly CheckResult[]): Tally {
  const count = (status: CheckResult['status']): number => results.filter((result) => result.status === status).length;
  return { passed: count('pass'), failed: count('fail'), skipped: count('skip') };
}

/** The last line: what was tested and the counts; the failed ids when any failed. */
export function formatSummary(subject: string, results: readonly CheckResult[]): string {
  const { passed, failed, skipped } = tally(results);
  const failedIds = results.filter((result) => result.status === 'fail').map((result) => result.id);
  const verdict = failed === 0 ? 'conforms' : `does not conform (failed: ${failedIds.join(', ')})`;
  return `${subject}: ${passed} passed, ${failed} failed, ${skipped} skipped of ${results.length}: ${verdict}\n`;
}

/** The whole run as one object. */
export function jsonReport(subject: string, results: readonly CheckResult[]): JsonReport {
  const counts = tally(results);
  return { subject, ok: counts.failed === 0, ...counts, results };
}
