// Starting a command from the CLI. Its request is one frame, whose JSON header holds the
// arguments and the environment (docs/protocol.md section 2: at most 64 KiB): a command line
// over that is the user's to shorten, not a protocol error between versions.
import type { ExecOptions, RemoteProcess, RexecClient } from '../../client/index.js';
import { RexecError } from '../../errors.js';
import { CliError } from '../shared/cli-error.js';
import { STATUS_FAILURE } from '../shared/exit-status.js';

/** client.exec(), with a request too large for a frame turned into a CliError (FRAME_TOO_LARGE) that says what to do. */
export function startCommand(client: RexecClient, options: ExecOptions): RemoteProcess {
  try {
    return client.exec(options);
  } catch (error) {
    if (error instanceof RexecError && error.code === 'FRAME_TOO_LARGE') {
      throw new CliError(
        STATUS_FAILURE,
        'FRAME_TOO_LARGE',
        `the command (arguments plus environment) is too long for one request (${error.message}): shorten it, ` +
          'or pass the data on stdin or in a file (rexec cp)',
        { cause: error },
      );
    }
    throw error;
  }
}
