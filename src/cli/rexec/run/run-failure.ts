// How `rexec run` on one host reports a command it could not run or finish: one line on
// stderr, and with --json also one JSON object on stdout, so that `rexec run --json ...
// | jq` always gets exactly one object (with `error` when there is no exit).
import { printError } from '../../shared/io.js';
import type { CliIo } from '../../shared/io.js';
import { outputFailure, writeOutput } from '../../shared/output-failure.js';

/** Why there is no exit: a code of the registry, or the program's own (INTERRUPTED, OUTPUT_LIMIT). */
export interface RunFailure {
  /** The status rexec exits with. */
  readonly status: number;
  /** False when the server could not be reached (connect, TLS or authentication failed). */
  readonly reached: boolean;
  readonly code: string;
  /** The line printed on stderr (without `rexec: `). */
  readonly message: string;
}

/** The --json object for a failure. */
export function jsonFailure(failure: RunFailure): Record<string, unknown> {
  return { status: failure.status, reached: failure.reached, error: { code: failure.code, message: failure.message } };
}

/**
 * Prints the failure (and its JSON object when `json`); resolves with the status, or
 * with that of our stdout failing while the object was written.
 */
export async function reportFailure(io: CliIo, failure: RunFailure, json: boolean): Promise<number> {
  printError(io, failure.message);
  if (!json) return failure.status;
  const error = await writeOutput(io.stdout, `${JSON.stringify(jsonFailure(failure))}\n`);
  if (error === undefined) return failure.status;
  const broken = outputFailure(error);
  if (broken.message !== undefined) printError(io, broken.message);
  return broken.status;
}
