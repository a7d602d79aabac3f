// Which errors rexecd states in one line (the user can fix them) and which go up with
// their stack (bugs of ours).
import { RexecError } from '../../errors.js';

/**
 * The one line for an error the user can fix (a bad flag or file: CONFIG and the other
 * codes; a system call refused: ENOENT, EACCES, ...), or undefined for a bug (a
 * TypeError is a bug, never a usage error).
 */
export function userErrorMessage(error: unknown): string | undefined {
  return error instanceof RexecError || isSystemError(error) ? (error as Error).message : undefined;
}

// An error of a system call (it names the call): not Node's ERR_* errors of a wrong
// argument, which are bugs.
export function isSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}
