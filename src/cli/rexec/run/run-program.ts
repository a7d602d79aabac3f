// The `rexec run` subcommand's flags and help. Running on one host is the program's core
// (core.ts); a fan-out over several hosts is loaded when one runs.
import type { Command } from 'commander';
import { collectEnv, parseMs, parsePositiveCount } from '../../shared/arg-parsers.js';
import type { CliIo } from '../../shared/io.js';
import { addConnectionOptions } from '../connection-options.js';
import { runHosts } from './run-hosts.js';

/** Hosts connected to at once, by default (run and cp on several hosts). */
export const DEFAULT_PARALLEL = 32;

/** The flags of `rexec run` that concern the command. */
export interface RunFlags {
  readonly shell?: boolean;
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly timeout?: number;
  /** true with -i, false with -n; our stdin is forwarded unless it is false. */
  readonly stdin?: boolean;
  readonly json?: boolean;
  readonly merge?: boolean;
  /** Run on a pseudo-terminal (-t). */
  readonly tty?: boolean;
}

/** The fan-out flags of `rexec run`, besides its own. */
export interface FanOutFlags extends RunFlags {
  /** Hosts at once. */
  readonly parallel?: number;
  /** False with --no-prefix. */
  readonly prefix?: boolean;
  /** Each host's whole output together, when it is done. */
  readonly group?: boolean;
  /** With --group: identical output once, under every host that gave it (implies --group). */
  readonly collapse?: boolean;
}

/** The flags of `rexec run` with the fan-out ones and the choice of hosts. */
export interface RunHostsFlags extends FanOutFlags {
  readonly hostsFile?: string;
  /** -x: hosts to leave out. */
  readonly exclude?: string;
}

/** Adds `run` to the program. */
export function addRunCommand(program: Command, io: CliIo, setStatus: (status: number) => void): void {
  const run = program
    .command('run')
    .description('run one command (on one host or several) and stream its output')
    .argument('<command...>', 'the command and its arguments (after --, or from the first non-option)')
    .option('--shell', 'run the arguments, joined by spaces, with /bin/sh -c (server needs --allow-shell)')
    .option('--cwd <dir>', "working directory on the server (relative to the server's root)")
    .option('-e, --env <NAME=VALUE>', 'set a variable for the command (repeatable)', collectEnv)
    .option(
      '--timeout <ms>',
      'time limit in milliseconds (the server ends the command; rexec gives up 20 s later)',
      parseMs,
    )
    // --stdin first: defined after it, --no-stdin leaves the default undefined (not true).
    .option('-i, --stdin', 'forward stdin to the command (the default with one host; kept for older scripts)')
    .option(
      '-n, --no-stdin',
      "don't read stdin: the command's stdin is closed at once (as ssh -n; for loops and background jobs)",
    )
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
    );
  addConnectionOptions(addFanOutOptions(run)).action(async (args: string[], flags: RunHostsFlags, command: Command) => {
    setStatus(await runHosts(args, flags, command, io));
  });
}

// --hosts-file, --parallel, --no-prefix, --group, --collapse and -x.
function addFanOutOptions(command: Command): Command {
  return command
    .option('--hosts-file <file>', 'run on every host listed in FILE (one HOST[:PORT] or name per line; - for stdin)')
    .option('--parallel <n>', `hosts at once when running on several (default ${DEFAULT_PARALLEL})`, parsePositiveCount)
    .option('--no-prefix', "several hosts: don't prefix output lines with `host: `")
    .option('--group', "several hosts: print each host's whole output together when it is done")
    .option('--collapse', 'with --group: print identical output once, under the names of all hosts that gave it')
    .option('-x, --exclude <hosts>', 'leave out these hosts (names, groups or HOST[:PORT], comma-separated)')
    .addHelpText(
      'after',
      '\nSeveral hosts: -H a,b,c, -H GROUP, --hosts-file FILE, or "rexec run NAME -- cmd" with NAME a host\n' +
        'or group of the config file. Lines are prefixed "host: " and never mixed; a summary goes to\n' +
        'stderr; the status is 0 when every host exited 0, else the highest (255: a host unreachable).',
    );
}
