// client.run(): a command run to its end, its output gathered in memory, as execa and
// zx give it: `{ stdout, stderr, code, signal, timedOut, ... }`. For output too large to
// hold, stream it with exec() instead.
import type { Readable, Writable } from 'node:stream';
import { RexecError } from '../errors.js';
import type { ExitStatus } from '../protocol/messages.js';
import type { ExecOptions } from './exec-options.js';
import { DEFAULT_MAX_BUFFER, OutputCollector } from './output-collector.js';
import type { RemoteProcess } from './remote-process.js';

/** What run() runs: argv (no shell), or `{ command }` for `/bin/sh -c` (the server must allow a shell). */
export type RunCommand = readonly string[] | { readonly command: string };

/** The options of run(): exec()'s, less the streams, plus how to feed and hold the output. */
export interface RunOptions extends Omit<ExecOptions, 'argv' | 'command' | 'stdin' | 'pty'> {
  /**
   * Most bytes of output held (stdout and stderr together; default 64 MiB). Past it the
   * command is killed and run() rejects with OUTPUT_LIMIT.
   */
  readonly maxBuffer?: number;
  /** The command's stdin: text, bytes or a stream, then end of file. Without it, stdin is closed at once. */
  readonly input?: string | Uint8Array | Readable;
  /** "utf8" (the default): stdout and stderr as text; "buffer": as bytes. */
  readonly encoding?: 'utf8' | 'buffer';
}

/** How a command run by run() ended, with its output. */
export interface RunResult<T extends string | Buffer = string> extends ExitStatus {
  readonly stdout: T;
  readonly stderr: T;
}

/**
 * Runs `command` through `exec` and gathers its output. Resolves once it has exited,
 * whatever its code (check `code` and `signal`); rejects with a RexecError when it could
 * not run (NOT_FOUND, DENIED, BUSY, ...), when the connection failed, with OUTPUT_LIMIT
 * past `maxBuffer`, or with `signal`'s reason.
 */
export async function runToEnd(
  exec: (options: ExecOptions) => RemoteProcess,
  command: RunCommand,
  options: RunOptions = {},
): Promise<RunResult<string | Buffer>> {
  const { maxBuffer = DEFAULT_MAX_BUFFER, input, encoding = 'utf8', signal, ...rest } = options;
  if (!Number.isSafeInteger(maxBuffer) || maxBuffer < 0) {
    throw new RexecError('BAD_REQUEST', `option "maxBuffer" must be a whole number of bytes, not ${String(maxBuffer)}`);
  }
  if (encoding !== 'utf8' && encoding !== 'buffer') {
    throw new RexecError(
      'BAD_REQUEST',
      `option "encoding" must be "utf8" or "buffer", not ${JSON.stringify(encoding)}`,
    );
  }
  // One abort for the caller's signal and for the output limit: either kills the command.
  const abort = new AbortController();
  const onAbort = (): void => abort.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const what = isArgv(command) ? { argv: command } : { command: command.command };
    const remote = exec({ ...rest, ...what, stdin: input !== undefined, signal: abort.signal });
    const collector = new OutputCollector(remote, maxBuffer, () =>
      abort.abort(
        new RexecError('OUTPUT_LIMIT', `the output passed maxBuffer (${maxBuffer} bytes): the command was killed`, {
          id: remote.id,
        }),
      ),
    );
    if (input !== undefined && remote.stdin !== null) feed(remote.stdin, input);
    const exit = await remote.exit;
    const { stdout, stderr } = collector.take();
    return encoding === 'buffer'
      ? { ...exit, stdout, stderr }
      : { ...exit, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8') };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function isArgv(command: RunCommand): command is readonly string[] {
  return Array.isArray(command);
}

// Writes the input and ends stdin; a command that exits without reading it all is not
// an error (as a shell pipeline's `head` is not).
function feed(stdin: Writable, input: string | Uint8Array | Readable): void {
  stdin.on('error', () => undefined);
  if (typeof input === 'string' || input instanceof Uint8Array) {
    stdin.end(input);
    return;
  }
  input.on('error', () => stdin.end());
  input.pipe(stdin);
}
