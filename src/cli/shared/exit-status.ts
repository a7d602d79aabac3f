// Every exit status of the programs. `rexec` follows docs/protocol.md section 7: the remote
// code, 128 + the signal's number, 127 for NOT_FOUND, 126 for DENIED and SPAWN_FAILED,
// and 255 for everything that kept the command from running or finishing (connection,
// auth, protocol, the server's other refusals such as BUSY, and usage errors), as ssh
// does. `rexecd` exits 0 after a clean drain, else as sysexits-minded daemons do.
import { constants } from 'node:os';
import { RexecError } from '../../errors.js';
import type { ExitStatus } from '../../client/index.js';

/** The command was not found on the server. */
export const STATUS_NOT_FOUND = 127;
/** The command could not be run (denied, or it failed to start). */
export const STATUS_CANNOT_RUN = 126;
/**
 * rexec gave up on a command's output: --json or --group would have to hold more than
 * they may (as `timeout` and `env` use 125 for a failure of their own).
 */
export const STATUS_OUTPUT_LIMIT = 125;
/** A command line rexec refuses to guess about (a host name where the command starts); a bad line at `rexec shell`. */
export const STATUS_USAGE = 2;
/** rexec itself failed: usage, connection, authentication, protocol, or a refusal. */
export const STATUS_FAILURE = 255;
/** Our own output failed for another reason than a closed pipe (a full disk). */
export const STATUS_OUTPUT_FAILED = 1;
/** `rexec cp`: at least one file failed and the others were copied. */
export const STATUS_SOME_FAILED = 1;
/** `rexec conformance`: the run completed and some check failed. */
export const STATUS_CHECKS_FAILED = 1;
/** `rexec frames decode`: the stream is invalid or cut inside a frame. */
export const STATUS_INVALID_STREAM = 1;

/** `rexecd`: it could not start (a bad flag value, --root, the address, the set-up before listening). */
export const REXECD_STATUS_ERROR = 1;
/** `rexecd`: a combination of flags it refuses (--no-auth off loopback). */
export const REXECD_STATUS_USAGE = 2;
/** `rexecd`: a bug of ours ended it, after draining (EX_SOFTWARE). */
export const REXECD_STATUS_INTERNAL = 70;

/** 128 + the signal's number (255 for a name this system does not know). */
export function statusOfSignal(name: string): number {
  const number = (constants.signals as Record<string, number | undefined>)[name];
  return number === undefined ? STATUS_FAILURE : 128 + number;
}

/** Our output was closed under us (`rexec ... | head`): as if killed by SIGPIPE (141). */
export const STATUS_BROKEN_OUTPUT = statusOfSignal('SIGPIPE');

/** The status for a command that ran: its code, or 128 + the number of its signal. */
export function statusOfExit(result: ExitStatus): number {
  if (result.code !== null) return result.code;
  return result.signal === null ? STATUS_FAILURE : statusOfSignal(result.signal);
}

/** The status for an error instead of an exit. */
export function statusOfError(error: unknown): number {
  if (!(error instanceof RexecError)) return STATUS_FAILURE;
  if (error.code === 'NOT_FOUND') return STATUS_NOT_FOUND;
  if (error.code === 'DENIED' || error.code === 'SPAWN_FAILED') return STATUS_CANNOT_RUN;
  return STATUS_FAILURE;
}
