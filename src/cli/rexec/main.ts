// The `rexec` program: `run`, `shell` and `ping`, with the connection flags -H, -p, -k
// and -u (and REXEC_HOST, REXEC_PORT, REXEC_KEY_FILE, REXEC_USER) before or after the
// subcommand. main() returns the exit status; bin/rexec.js sets it.
import { Command, CommanderError } from 'commander';
import { VERSION } from '../../common/version.js';
import { addConnectionOptions, connectionSettings } from './connection-options.js';
import { addConformanceCommand } from '../kit/conformance-command.js';
import { addCpCommand } from './cp/cp-program.js';
import { collectEnv, parseMs } from '../shared/arg-parsers.js';
import { CliError } from '../shared/cli-error.js';
import { STATUS_FAILURE } from '../shared/exit-status.js';
import { addFramesCommand } from '../kit/frames-command.js';
import { printError, processIo } from '../shared/io.js';
import type { CliIo } from '../shared/io.js';
import { pingCommand } from './ping/ping-command.js';
import { addFanOutOptions, runHosts } from './run/run-hosts.js';
import { loginShell } from './run/run-command.js';
import type { RunHostsFlags } from './run/run-hosts.js';
import { RexecError } from '../../errors.js';
import { shellCommand } from './shell/shell-command.js';

/** Runs the program with `args` (without node and the script); resolves with the exit status. */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  let status = 0;
  const program = createProgram(io, (value) => (status = value));
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    // Commander has printed its message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : STATUS_FAILURE;
    // A usage mistake of ours to refuse (cp operands, a host name in the command).
    if (error instanceof CliError) {
      if (error.shown) printError(io, error.message);
      return error.status;
    }
    // A bad config file or host list, found before anything was run.
    if (error instanceof RexecError) {
      printError(io, error.message);
      return STATUS_FAILURE;
    }
    // A bug of ours: say so, with what a report needs.
    printError(io, `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return STATUS_FAILURE;
  }
  return status;
}

/** The commander program; `setStatus` receives the status of the subcommand that ran. */
export function createProgram(io: CliIo, setStatus: (status: number) => void): Command {
  const program = new Command('rexec')
    .description('Run commands on a rexecd server.')
    .version(VERSION)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .addHelpText(
      'after',
      '\nExit status: the remote command\'s, 128+n when signal n ended it, 127 when it was not\n' +
        'found, 126 when it was denied or could not start, 255 when rexec failed (connection,\n' +
        'key, protocol, usage, or the server refused: BUSY, SHUTTING_DOWN, ...).',
    );
  addConnectionOptions(program);

  addConnectionOptions(
    addFanOutOptions(program
      .command('run')
      .description('run one command (on one host or several) and stream its output')
      .argument('<command...>', 'the command and its arguments (after --, or from the first non-option)')
      .option('--shell', 'run the arguments, joined by spaces, with /bin/sh -c (server needs --allow-shell)')
      .option('--cwd <dir>', "working directory on the server (relative to the server's root)")
      .option('-e, --env <NAME=VALUE>', 'set a variable for the command (repeatable)', collectEnv)
      .option('--timeout <ms>', 'time limit in milliseconds', parseMs)
      // --stdin first: defined after it, --no-stdin leaves the default undefined (not true).
      .option('-i, --stdin', 'forward stdin to the command (the default with one host; kept for older scripts)')
      .option('-n, --no-stdin', "don't read stdin: the command's stdin is closed at once (as ssh -n; for loops and background jobs)")
      .option('--json', 'print one JSON object with the output, code and signal instead of streaming')
      .option('--merge', "send the command's stderr into its stdout, in the order written")
      .option('-t, --tty', 'run on a pseudo-terminal (for top, vim, less): keys go raw to the command, resizes follow')
      .passThroughOptions()
      .addHelpText(
        'after',
        '\nStandard input is forwarded to the command, its end too, as ssh does (one host; several hosts\n' +
          'get none): use -n when rexec runs in the background or in a loop that reads stdin.\n' +
          'Ctrl-C (SIGINT), SIGTERM and SIGHUP are forwarded to the command; a second one ends rexec\n' +
          '(status 128+n, e.g. 130 after Ctrl-C), and the server then ends the command.',
      )),
  ).action(async (args: string[], flags: RunHostsFlags, command: Command) => {
    setStatus(await runHosts(args, flags, command, io));
  });

  addConnectionOptions(
    program
      .command('shell')
      .description('an interactive prompt: one command per line over one connection')
      .addHelpText(
        'after',
        '\nLines are split like a shell does (quotes, backslashes); lines with operators, globs or\n' +
          'variables run with /bin/sh -c if the server allows a shell. "cd DIR" changes the directory\n' +
          'of the following commands, "exit [n]" or Ctrl-D leave. Ctrl-C interrupts the running command.\n' +
          'Commands get no stdin. With a pipe as input, lines run in order and the last status is returned.\n' +
          '"put [-f] [-p] FILE [REMOTE]" and "get [-f] [-p] FILE [LOCAL]" copy one file, as rexec cp does\n' +
          "(server paths from the shell's directory, local ones from yours).\n" +
          'With -t, runs the server\'s interactive shell (bash -i, else sh -i) on a terminal instead, as ssh does.',
      )
      .option('-t, --tty', "run the server's own interactive shell on a pseudo-terminal"),
  ).action(async (flags: { tty?: boolean }, command: Command) => {
    const settings = connectionSettings(command);
    setStatus(flags.tty === true ? await loginShell(settings, io) : await shellCommand(settings, io));
  });

  addConnectionOptions(
    program.command('ping').description("check the connection: server version, authentication, round trip"),
  ).action(async (_flags: unknown, command: Command) => {
    setStatus(await pingCommand(connectionSettings(command), io));
  });

  addCpCommand(program, io, (value) => setStatus(value));
  addConformanceCommand(program, io, setStatus);
  addFramesCommand(program, io, setStatus);
  return program;
}
