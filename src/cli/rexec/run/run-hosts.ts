// `rexec run` on one host or many: the fan-out flags, and the choice between the two.
// One host (-H HOST, -H NAME of the config file, `rexec run NAME -- cmd`) runs as it
// always did; a list, a group or a hosts file runs on each of them (fanout/).
import type { Command } from 'commander';
import { DEFAULT_PARALLEL, fanOutCommand } from '../fanout/fanout-command.js';
import type { FanOutFlags } from '../fanout/fanout-command.js';
import { parsePositiveCount } from '../../shared/arg-parsers.js';
import { readConnectionFlags, runTargets } from '../hosts/settings.js';
import type { CliIo } from '../../shared/io.js';
import { runCommand } from './run-command.js';

/** The flags of `rexec run` with the fan-out ones. */
export interface RunHostsFlags extends FanOutFlags {
  readonly hostsFile?: string;
  /** -x: hosts to leave out. */
  readonly exclude?: string;
}

/** Adds --hosts-file, --parallel, --no-prefix and --group to `run`. */
export function addFanOutOptions(command: Command): Command {
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

/** The action of `rexec run`: one host, or a fan-out. Throws CONFIG for bad hosts or config. */
export async function runHosts(args: readonly string[], flags: RunHostsFlags, command: Command, io: CliIo): Promise<number> {
  const connection = readConnectionFlags(command);
  // The program's arguments as typed (commander keeps them, untyped, as rawArgs).
  const raw = ((command.parent ?? command) as unknown as { rawArgs?: unknown }).rawArgs;
  const rawArgs = Array.isArray(raw) ? (raw as string[]) : [];
  // A host name slipped into the command is a CliError (USAGE, 2): main() prints it.
  const { targets, many, args: commandArgs } = runTargets(connection, args, rawArgs, flags.hostsFile, flags.exclude);
  if (many) return fanOutCommand(commandArgs, flags, targets, io);
  return runCommand(commandArgs, flags, targets[0] as (typeof targets)[number], io);
}
