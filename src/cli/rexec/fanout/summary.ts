// The end of a fan-out: the program's status (0 when every host exited 0, else the
// highest status of any host, so 255 when one could not be reached) and the summary
// lines for stderr: how many hosts were ok, and which failed how.
import { STATUS_CANNOT_RUN, STATUS_FAILURE, STATUS_NOT_FOUND } from '../../shared/exit-status.js';
import type { HostResult } from './host-run.js';

/** Host names listed per kind of failure before "and N more". */
const NAMES_SHOWN = 10;

/** The program's exit status for these results. */
export function overallStatus(results: readonly HostResult[]): number {
  return results.reduce((highest, result) => Math.max(highest, result.status), 0);
}

/** The summary, one `rexec: ...` line per kind of failure after the count. */
export function summaryLines(results: readonly HostResult[]): string[] {
  const failed = results.filter((result) => result.status !== 0);
  const head = `rexec: ${plural(results.length, 'host')}: ${results.length - failed.length} ok, ${failed.length} failed`;
  const kinds = new Map<string, string[]>();
  for (const result of failed) {
    const kind = describe(result);
    kinds.set(kind, [...(kinds.get(kind) ?? []), result.label]);
  }
  const lines = [head];
  for (const [kind, labels] of [...kinds].sort(([a], [b]) => a.localeCompare(b))) {
    const shown = labels.slice(0, NAMES_SHOWN).join(' ');
    const more = labels.length > NAMES_SHOWN ? ` and ${labels.length - NAMES_SHOWN} more` : '';
    lines.push(`rexec:   ${kind}: ${shown}${more}`);
  }
  return lines;
}

// What happened to one failed host, in words, with its status.
function describe(result: HostResult): string {
  if (result.skipped) return `not started, interrupted (${result.status})`;
  if (!result.reached) return `unreachable (${result.status})`;
  if (result.error?.code === 'OUTPUT_LIMIT') return `over the output limit (${result.status})`;
  if (result.error?.code === 'FILES_FAILED') return `some files failed (${result.status})`;
  const exit = result.exit;
  if (exit !== undefined) {
    if (exit.code !== null) return `exit ${exit.code}`;
    const how = exit.timedOut ? 'timed out, ended by' : 'killed by';
    return `${how} ${exit.signal ?? 'a signal'} (${result.status})`;
  }
  if (result.status === STATUS_NOT_FOUND) return `command not found (${result.status})`;
  if (result.status === STATUS_CANNOT_RUN) return `could not run (${result.status})`;
  if (result.status === STATUS_FAILURE) return `failed (${result.error?.code ?? 'error'}, ${result.status})`;
  return `failed (${result.status})`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
