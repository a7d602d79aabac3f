// The `rexec cp` subcommand's flags and help; its code is loaded when it runs. Its -p is
// "preserve", as in cp and scp, so the port is --port here (or -p before the subcommand:
// `rexec -p 7078 cp ...`).
import type { Command } from 'commander';
import { parsePositiveCount } from '../../shared/arg-parsers.js';
import type { CliIo } from '../../shared/io.js';
import { addConnectionOptions } from '../connection-options.js';
import type { CpFlags } from './copy.js';

/** Adds `cp` to the program. */
export function addCpCommand(program: Command, io: CliIo, setStatus: (status: number) => void): void {
  const command = addConnectionOptions(
    program
      .command('cp')
      .description(
        'copy files to the server (cp LOCAL... :REMOTE) or from it (cp :REMOTE... LOCAL); to several with -H a,b or a group',
      )
      .usage('[options] SOURCE... TARGET')
      .argument(
        '<source-and-target...>',
        'SOURCE... TARGET: a leading ":" marks a path on the server; "-" is stdin (source) or stdout (target)',
      ),
  );
  dropShortFlag(command, '--port');
  command
    .option('-r, --recursive', 'copy directories and everything below them')
    .option('-f, --force', 'overwrite existing files')
    .option('-p, --preserve', 'keep modes exactly (and, downloading, modification times)')
    .option('-q, --quiet', 'no progress line and no summary')
    .option('-v, --verbose', 'print the summary even when stderr is not a terminal')
    .option('-x, --exclude <hosts>', 'several hosts: leave out these (names, groups or HOST[:PORT], comma-separated)')
    .option('--parallel <n>', 'several hosts: how many at once (default 32)', parsePositiveCount)
    .addHelpText(
      'after',
      '\nA leading colon marks the server\'s side: relative paths start at its root, ":" alone is\n' +
        'the root. A TARGET that ends in "/", or several SOURCEs, or -r, name a directory (created\n' +
        'when missing); -r copies DIR into it as TARGET/DIR. Existing files are refused without -f.\n' +
        'Every file is checked with SHA-256, and written under a temporary name and renamed into\n' +
        'place, so an interrupted copy never leaves a partial file.\n' +
        'The summary line is printed when stderr is a terminal (as scp does), or with -v.\n' +
        '\nWith several hosts (-H a,b,c or a group; uploads only) the files go to each; failures are\n' +
        'prefixed with the host.\n' +
        '\nExit status: 0 when every file was copied, 1 when some failed (the others were copied),\n' +
        '255 when rexec could not connect, authenticate, or lost the connection; with several hosts,\n' +
        'the highest status of any host.',
    )
    .action(async (operands: string[], flags: CpFlags, self: Command) => {
      const { cpAction } = await import('./cp-action.js');
      setStatus(await cpAction(operands, flags, self, io));
    });
}

// The connection flags' -p would take the preserve flag's letter: keep only the long form.
function dropShortFlag(command: Command, long: string): void {
  const option = command.options.find((candidate) => candidate.long === long);
  if (option === undefined) return;
  option.short = undefined;
  option.flags = option.flags.replace(/^-\w,\s*/, '');
}
