// When our own stdout or stderr cannot be written. A closed pipe (`rexec ... | head`)
// ends the program quietly, with the status of a process killed by SIGPIPE, as ssh and
// most Unix tools do; any other write error (a full disk, /dev/full) is said in one line
// and is status 1. Either way it is our failure, not the server's or the connection's.
import type { Writable } from 'node:stream';
import { errnoText } from './errno-text.js';
import { CliError } from './cli-error.js';
import { STATUS_BROKEN_OUTPUT, STATUS_OUTPUT_FAILED } from './exit-status.js';

/** What a write error on our output means: the status, and the line to print (none for a closed pipe). */
export interface OutputFailure {
  readonly status: number;
  readonly message: string | undefined;
}

/** The status and message for `error`, a write error of our stdout or stderr. */
export function outputFailure(error: unknown): OutputFailure {
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') {
    return { status: STATUS_BROKEN_OUTPUT, message: undefined };
  }
  return { status: STATUS_OUTPUT_FAILED, message: `cannot write the output: ${errnoText(error)}` };
}

/** Our output failed while a transfer wrote to it: thrown instead of the transfer's own error. */
export function outputError(cause: unknown): CliError {
  const failure = outputFailure(cause);
  return new CliError(failure.status, 'OUTPUT', failure.message ?? 'the output was closed', {
    shown: failure.message !== undefined,
    cause,
  });
}

/**
 * Writes `data` to one of our outputs; resolves once it is written, with the write error
 * if there was one (never rejects, and no 'error' event goes unheard).
 */
export function writeOutput(stream: Writable, data: string | Buffer): Promise<unknown> {
  return new Promise((resolve) => {
    let failed: unknown;
    // Stays on after a failure: the stream emits 'error' after calling back.
    const onError = (error: unknown): void => {
      failed ??= error;
    };
    stream.on('error', onError);
    stream.write(data, (error) => {
      if (error === undefined || error === null) stream.off('error', onError);
      resolve(error ?? failed);
    });
  });
}
