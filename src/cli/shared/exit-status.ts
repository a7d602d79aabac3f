// The program's exit status (PROTOCOL.md section 7): the remote code, 128 + the signal's
// number, 127 for NOT_FOUND, 126 for DENIED and SPAWN_FAILED, and 255 for everything
// that kept the command from running or finishing (connection, auth, protocol, the
// server's other refusals such as BUSY, and usage errors), as ssh does.
import { constants } from 'node:os';
import { RexecError } from '../../errors.js';
import type { ExitResult } from '../../client/index.js';

/** The command was not found on the server. */
export const STATUS_NOT_FOUND = 127;
/** The command could not be run (denied, or it failed to start). */
export const STATUS_CANNOT_RUN = 126;
/**
 * rexec gave up on a command's output: --json or --group would have to hold more than
 * they may (as `timeout` and `env` use 125 for a failure of their own).
 */
export const STATUS_OUTPUT_LIMIT = 125;
/** A command line rexec refuses to guess about (a host name where the command starts). */
export const STATUS_USAGE = 2;
/** rexec itself failed: usage, connection, authentication, protocol, or a refusal. */
export const STATUS_FAILURE = 255;

/** The status for a command that ran: its code, or 128 + the number of its signal. */
export function statusOfExit(result: ExitResult): number {
  if (result.code !== null) return result.code;
  return result.signal === null ? STATUS_FAILURE : statusOfSignal(result.signal);
}

/** 128 + the signal's number (255 for a name this system does not know). */
export function statusOfSignal(name: string): number {
  const number = (constants.signals as Record<string, number | undefined>)[name];
  return number === undefined ? STATUS_FAILURE : 128 + number;
}

/** The status for an error instead of an exit. */
export function statusOfError(error: unknown): number {
  if (!(error instanceof RexecError)) return STATUS_FAILURE;
  if (error.code === 'NOT_FOUND') return STATUS_NOT_FOUND;
  if (error.code === 'DENIED' || error.code === 'SPAWN_FAILED') return STATUS_CANNOT_RUN;
  return STATUS_FAILURE;
}
