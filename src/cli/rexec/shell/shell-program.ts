// The `rexec shell` subcommand's flags and help; its code is loaded when it runs.
import type { Command } from 'commander';
import type { CliIo } from '../../shared/io.js';
import { addConnectionOptions } from '../connection-options.js';

/** Adds `shell` to the program. */
export function addShellCommand(program: Command, io: CliIo, setStatus: (status: number) => void): void {
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
          "With -t, runs the server's interactive shell (bash -i, else sh -i) on a terminal instead, as ssh does.",
      )
      .option('-t, --tty', "run the server's own interactive shell on a pseudo-terminal"),
  ).action(async (flags: { tty?: boolean }, command: Command) => {
    const { shellAction } = await import('./shell-action.js');
    setStatus(await shellAction(flags, command, io));
  });
}
