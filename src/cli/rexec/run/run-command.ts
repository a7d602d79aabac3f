// `rexec run`: one command on the server, its output streamed to ours (or reassembled
// into JSON), our stdin forwarded (as ssh does; not with -n), our signals forwarded, its
// status returned.
import { exitDeadline } from './exit-deadline.js';
import { OutputCollector } from '../../../client/index.js';
import type { ExitStatus, RemoteProcess, RexecClient } from '../../../client/index.js';
import {
  STATUS_CANNOT_RUN,
  STATUS_FAILURE,
  STATUS_OUTPUT_LIMIT,
  statusOfError,
  statusOfExit,
  statusOfSignal,
} from '../../shared/exit-status.js';
import { printError } from '../../shared/io.js';
import type { CliIo } from '../../shared/io.js';
import { outputFailure, writeOutput } from '../../shared/output-failure.js';
import type { ConnectionSettings } from '../connection-options.js';
import { failureCode, failureMessage } from '../failure-message.js';
import { forwardInput, forwardOutput } from '../forward-streams.js';
import { openClient } from '../open-client.js';
import { startCommand } from '../remote-command.js';
import { catchSignals } from '../signals.js';
import { JSON_OUTPUT_LIMIT, jsonReport } from './json-output.js';
import { reportFailure } from './run-failure.js';
import type { RunFailure } from './run-failure.js';
import type { RunFlags } from './run-program.js';

/** Runs `args` on the server; resolves with the program's exit status. */
export async function runCommand(
  args: readonly string[],
  flags: RunFlags,
  settings: ConnectionSettings,
  io: CliIo,
): Promise<number> {
  let client: RexecClient;
  try {
    client = await openClient(settings, (line) => printError(io, line));
  } catch (error) {
    const failure = {
      status: statusOfError(error),
      reached: false,
      code: failureCode(error),
      message: failureMessage(error, settings, { connecting: true }),
    };
    return reportFailure(io, failure, flags.json === true);
  }
  try {
    return await runOn(client, args, flags, settings, io);
  } finally {
    await client.close();
  }
}

/** Runs `args` on a connected client (`rexec run`, and `rexec shell -t`); resolves with the exit status. */
export async function runOn(
  client: RexecClient,
  args: readonly string[],
  flags: RunFlags,
  settings: ConnectionSettings,
  io: CliIo,
): Promise<number> {
  const json = flags.json === true;
  const failed = (failure: Omit<RunFailure, 'reached'>): Promise<number> =>
    reportFailure(io, { ...failure, reached: true }, json);
  if (flags.shell && !client.hello.shell) {
    const message =
      'the server does not run shell commands (--shell): start rexecd with --allow-shell, or leave out --shell';
    return failed({ status: STATUS_CANNOT_RUN, code: 'DENIED', message });
  }
  if (flags.tty === true && client.hello.pty !== true) {
    // rexecd's terminals need its optional terminal package, which a machine without a
    // prebuilt binary for its platform does not have; everything else works there.
    const message =
      `the server (${client.hello.server}) has no terminal support (its optional package @lydell/node-pty ` +
      'is not installed): run the command without -t';
    return failed({ status: STATUS_CANNOT_RUN, code: 'UNSUPPORTED', message });
  }
  // The terminal's code (and its child_process, for stty) only for -t.
  const terminal = flags.tty === true ? await import('./terminal.js') : undefined;
  let remote: RemoteProcess;
  try {
    remote = startCommand(client, {
      ...(flags.shell ? { command: args.join(' ') } : { argv: args }),
      cwd: flags.cwd,
      env: flags.env,
      timeoutMs: flags.timeout,
      // As ssh does: our stdin goes to the command unless -n; one that never reads it
      // does not hold us up (we stop reading ours when it exits).
      stdin: flags.stdin !== false,
      merge: flags.merge === true,
      ...(terminal === undefined ? {} : { pty: terminal.localTerminalSize(io) }),
    });
  } catch (error) {
    return failed({ status: statusOfError(error), code: failureCode(error), message: failureMessage(error, settings) });
  }

  // Why we gave up on the command ourselves, if we did: reported instead of the error.
  // `code` is undefined when our own output failed (nothing more can be printed on it).
  let abort: { status: number; message: string | undefined; code: string | undefined } | undefined;
  const giveUp = (status: number, message: string | undefined, code: string | undefined): void => {
    abort ??= { status, message, code };
    void client.close();
  };

  let collector: OutputCollector | undefined;
  let stopOutput = (): void => {};
  if (json) {
    const limit = `${JSON_OUTPUT_LIMIT / 1024 / 1024} MiB`;
    collector = new OutputCollector(remote, JSON_OUTPUT_LIMIT, () =>
      giveUp(STATUS_OUTPUT_LIMIT, `the output is over ${limit}, too much for --json: leave it out`, 'OUTPUT_LIMIT'),
    );
  } else {
    // A closed pipe (`| head`) ends us quietly with 141; any other write error says so, status 1.
    stopOutput = forwardOutput(remote, io, (error) => {
      const failure = outputFailure(error);
      giveUp(failure.status, failure.message, undefined);
    });
  }
  // On a terminal our stdin always goes to the command (keys, raw when ours is a tty).
  const restoreTerminal = terminal === undefined ? () => {} : terminal.attachTerminal(io, remote);
  const stopInput = remote.stdin === null ? () => {} : forwardInput(io.stdin, remote.stdin);
  // The first signal goes to the command; a second one gives up on it (the server
  // then ends it, as the connection closes).
  let signalled = false;
  const stopSignals = catchSignals(io, (signal) => {
    if (!signalled) {
      signalled = true;
      remote.signal(signal);
    } else {
      giveUp(statusOfSignal(signal), `interrupted: connection closed, the server ends the command`, 'INTERRUPTED');
    }
  });

  const stopDeadline = exitDeadline(flags.timeout, (message) => giveUp(STATUS_FAILURE, message, 'TIMEOUT'));
  let outcome: { result: ExitStatus } | { error: unknown };
  try {
    outcome = { result: await remote.exit };
  } catch (error) {
    outcome = { error };
  } finally {
    stopDeadline();
    stopSignals();
    stopInput();
    stopOutput();
    restoreTerminal();
  }
  // Given up on, even if the exit arrived while our output was failing.
  if (abort !== undefined) {
    if (abort.code !== undefined)
      return failed({ status: abort.status, code: abort.code, message: abort.message ?? '' });
    if (abort.message !== undefined) printError(io, abort.message);
    return abort.status;
  }
  if ('error' in outcome) {
    return failed({
      status: statusOfError(outcome.error),
      code: failureCode(outcome.error),
      message: failureMessage(outcome.error, settings),
    });
  }
  const { result } = outcome;
  if (result.stdinTruncated === true) {
    printError(
      io,
      `warning: the server kept only the first ${result.stdinBytes} bytes of standard input (limit: maxStdinBytes)`,
    );
  }
  if (collector !== undefined) {
    const { stdout, stderr } = collector.take();
    const error = await writeOutput(io.stdout, `${JSON.stringify(jsonReport(result, stdout, stderr))}\n`);
    if (error !== undefined) {
      const failure = outputFailure(error);
      if (failure.message !== undefined) printError(io, failure.message);
      return failure.status;
    }
  }
  if (result.timedOut) {
    printError(io, `command timed out after ${result.durationMs} ms (ended by ${result.signal ?? 'the server'})`);
  } else if (result.truncated) {
    printError(io, `the server's output limit was reached: command ended by ${result.signal ?? 'the server'}`);
  }
  return statusOfExit(result);
}
