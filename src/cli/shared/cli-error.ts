// A failure of the program itself (not the server's, not the connection's): a usage
// mistake, a local file, our own output, a command line too long for one request. It
// carries what the program does about it: the status to exit with, a code for --json and
// summaries, and whether its one line is printed.

/** What a CliError is about, for --json and summaries. */
export type CliErrorCode =
  /** A command line or operands the program refuses. */
  | 'USAGE'
  /** A local file or directory could not be read or written. */
  | 'LOCAL_FILE'
  /** Our own stdout or stderr failed. */
  | 'OUTPUT'
  /** A file on the server is in the way (put without -f). */
  | 'EXISTS'
  /** The server refused a file request as malformed (a directory without -r). */
  | 'BAD_REQUEST'
  /** A command whose request does not fit in one frame. */
  | 'FRAME_TOO_LARGE';

/** A failure of the program, said in one line, with the status it exits with. */
export class CliError extends Error {
  /** The exit status this failure gives. */
  readonly status: number;
  readonly code: CliErrorCode;
  /** False when nothing is printed: a closed pipe ends the program quietly. */
  readonly shown: boolean;

  constructor(
    status: number,
    code: CliErrorCode,
    message: string,
    options: { readonly shown?: boolean; readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.status = status;
    this.code = code;
    this.shown = options.shown ?? true;
  }
}
