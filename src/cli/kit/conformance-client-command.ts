// `rexec conformance client -- CMD...`: runs the client under test against the torture
// server once per scenario and prints a line per scenario and a summary (or JSON).
import { RexecError } from '../../errors.js';
import type { CheckResult } from '../../conformance/check.js';
import { formatResult, formatSummary, jsonReport } from '../../conformance/report.js';
import { runClientChecks } from '../../conformance/torture/run-client-checks.js';
import { SCENARIOS } from '../../conformance/torture/scenarios.js';
import { STATUS_CHECKS_FAILED, STATUS_FAILURE } from '../shared/exit-status.js';
import { printError } from '../shared/io.js';
import type { CliIo } from '../shared/io.js';
// Loaded on demand: see core.ts for why this import is here.
import '../rexec/core.js';

/** The flags of `rexec conformance client`. */
export interface ClientCheckFlags {
  readonly json?: boolean;
  readonly only?: readonly string[];
  readonly list?: boolean;
  readonly timeout?: number;
}

/** Runs the scenarios; resolves with the program's status. */
export async function conformanceClientCommand(
  command: readonly string[],
  flags: ClientCheckFlags,
  io: CliIo,
): Promise<number> {
  if (flags.list) {
    io.stdout.write(
      SCENARIOS.map(
        (scenario) => `${scenario.name.padEnd(36)} §${scenario.section.padEnd(4)} ${scenario.title}\n`,
      ).join(''),
    );
    return 0;
  }
  const onResult = flags.json ? undefined : (result: CheckResult): void => void io.stdout.write(formatResult(result));
  try {
    const report = await runClientChecks({ command, only: flags.only, scenarioDeadlineMs: flags.timeout, onResult });
    if (flags.json) io.stdout.write(`${JSON.stringify(jsonReport(report.subject, report.results))}\n`);
    else io.stdout.write(formatSummary(report.subject, report.results));
    return report.results.some((result) => result.status === 'fail') ? STATUS_CHECKS_FAILED : 0;
  } catch (error) {
    if (!(error instanceof RexecError)) throw error;
    printError(io, error.message);
    return STATUS_FAILURE;
  }
}
