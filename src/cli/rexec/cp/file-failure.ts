// What `rexec cp` says about a file that failed: one line, naming the file as the user
// wrote it, built from the error's code and what the copy knows (the path it asked
// for), never from the server's wording.
import { RexecError } from '../../../errors.js';
import { CliError } from '../../shared/cli-error.js';
import { STATUS_SOME_FAILED } from '../../shared/exit-status.js';

/** One line for a file that failed: what, and what to do. */
export function fileFailure(name: string, error: unknown): string {
  if (error instanceof CliError) return error.code === 'LOCAL_FILE' ? error.message : `${name}: ${error.message}`;
  if (!(error instanceof RexecError)) return `${name}: ${error instanceof Error ? error.message : String(error)}`;
  switch (error.code) {
    case 'CHECKSUM_MISMATCH':
      return `${name}: sha256 mismatch, the copy is not trusted: ${error.message}`;
    case 'DENIED':
      return `${name}: denied by the server: ${error.message}`;
    case 'BUSY':
      return `${name}: the server is busy: ${error.message}`;
    default:
      return `${name}: ${error.message}`;
  }
}

/** A put's EXISTS as the path that was in the way (`remote`, as sent); any other error as it is. */
export function existsOnServer(error: unknown, remote: string): unknown {
  if (!(error instanceof RexecError) || error.code !== 'EXISTS') return error;
  return new CliError(
    STATUS_SOME_FAILED,
    'EXISTS',
    `${JSON.stringify(remote)} already exists on the server (use -f to overwrite)`,
    {
      cause: error,
    },
  );
}

/**
 * A get without -r that the server refused as a bad request: a directory, or another
 * file that is not a regular one. Says that -r copies directories.
 */
export async function directoryNeedsR<T>(download: Promise<T>): Promise<T> {
  try {
    return await download;
  } catch (error) {
    if (!(error instanceof RexecError) || error.code !== 'BAD_REQUEST') throw error;
    throw new CliError(STATUS_SOME_FAILED, 'BAD_REQUEST', `${error.message} (-r copies directories)`, { cause: error });
  }
}
