// `rexec conformance server HOST:PORT`: runs every black-box check against a server and
// prints a line per check and a summary (or one JSON object); 0 only when none failed.
import { readKeyFile } from '../../common/key-file.js';
import { RexecError } from '../../errors.js';
import type { CheckResult } from '../../conformance/check.js';
import { formatResult, formatSummary, jsonReport } from '../../conformance/report.js';
import { runServerChecks } from '../../conformance/run-server-checks.js';
import { SERVER_CHECKS } from '../../conformance/server-checks/index.js';
import { STATUS_CHECKS_FAILED, STATUS_FAILURE } from '../shared/exit-status.js';
import { printError } from '../shared/io.js';
import type { CliIo } from '../shared/io.js';
// Loaded on demand: see core.ts for why this import is here.
import '../rexec/core.js';

/** The flags of `rexec conformance server`. */
export interface ServerCheckFlags {
  readonly keyFile: string;
  readonly user: string;
  readonly json?: boolean;
  readonly only?: readonly string[];
  readonly list?: boolean;
  readonly wait?: number;
  readonly idleTimeout?: number;
  readonly authTimeout?: number;
  readonly grace?: number;
}

/** Runs the checks; resolves with the program's status. */
export async function conformanceServerCommand(
  target: { host: string; port: number } | undefined,
  flags: ServerCheckFlags,
  io: CliIo,
): Promise<number> {
  if (flags.list) {
    io.stdout.write(
      SERVER_CHECKS.map((check) => `${check.id.padEnd(36)} §${check.section.padEnd(4)} ${check.title}\n`).join(''),
    );
    return 0;
  }
  if (target === undefined) {
    printError(io, 'give the server to check as HOST:PORT, e.g. "rexec conformance server 127.0.0.1:7077"');
    return STATUS_FAILURE;
  }
  let key: string | undefined;
  let keyError: RexecError | undefined;
  try {
    key = await readKeyFile(flags.keyFile);
  } catch (error) {
    if (!(error instanceof RexecError)) throw error;
    keyError = error;
  }
  const onResult = flags.json ? undefined : (result: CheckResult): void => void io.stdout.write(formatResult(result));
  try {
    const report = await runServerChecks({
      target,
      key,
      user: flags.user,
      only: flags.only,
      waitMs: flags.wait,
      idleTimeoutMs: flags.idleTimeout,
      authTimeoutMs: flags.authTimeout,
      graceMs: flags.grace,
      onResult,
    });
    const subject = `${report.server ?? 'server'} at ${report.target}`;
    if (flags.json) io.stdout.write(`${JSON.stringify(jsonReport(subject, report.results))}\n`);
    else io.stdout.write(formatSummary(subject, report.results));
    return report.results.some((result) => result.status === 'fail') ? STATUS_CHECKS_FAILED : 0;
  } catch (error) {
    if (!(error instanceof RexecError)) throw error;
    const cause =
      error.code === 'KEY_FILE' && keyError !== undefined ? `${error.message} (${keyError.message})` : error.message;
    printError(io, cause);
    return STATUS_FAILURE;
  }
}
