// The `rexec` program: `run`, `shell`, `ping`, `cp` and the test kit, with the connection
// flags -H, -p, -k and -u (and REXEC_HOST, REXEC_PORT, REXEC_KEY_FILE, REXEC_USER) before
// or after the subcommand. main() returns the exit status; bin/rexec.js sets it.
// At start only the flags and help of every subcommand load, and the core that `run`
// needs (core.ts); the others' code is imported when they run, so that `rexec run`
// never compiles cp, the fan-out, the shell, TLS or the test kit.
import { Command, CommanderError } from 'commander';
import { VERSION } from '../../common/version.js';
import { RexecError } from '../../errors.js';
import { addConformanceCommand } from '../kit/conformance-command.js';
import { addFramesCommand } from '../kit/frames-command.js';
import { CliError } from '../shared/cli-error.js';
import { STATUS_FAILURE } from '../shared/exit-status.js';
import { printError, processIo } from '../shared/io.js';
import type { CliIo } from '../shared/io.js';
import { addConnectionOptions } from './connection-options.js';
import './core.js';
import { addCpCommand } from './cp/cp-program.js';
import { addRunCommand } from './run/run-program.js';
import { addShellCommand } from './shell/shell-program.js';

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
      "\nExit status: the remote command's, 128+n when signal n ended it, 127 when it was not\n" +
        'found, 126 when it was denied or could not start, 255 when rexec failed (connection,\n' +
        'key, protocol, usage, or the server refused: BUSY, SHUTTING_DOWN, ...).',
    );
  addConnectionOptions(program);
  addRunCommand(program, io, setStatus);
  addShellCommand(program, io, setStatus);
  addConnectionOptions(
    program.command('ping').description('check the connection: server version, authentication, round trip'),
  ).action(async (_flags: unknown, command: Command) => {
    const { pingAction } = await import('./ping/ping-command.js');
    setStatus(await pingAction(command, io));
  });
  addCpCommand(program, io, setStatus);
  addConformanceCommand(program, io, setStatus);
  addFramesCommand(program, io, setStatus);
  return program;
}
