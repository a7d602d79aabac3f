// The action of `rexec run`: one host (-H HOST, -H NAME of the config file, `rexec run
// NAME -- cmd`) runs as it always did; a list, a group or a hosts file runs on each of
// them (fanout/, loaded only then).
import type { Command } from 'commander';
import type { CliIo } from '../../shared/io.js';
import { readConnectionFlags } from '../hosts/flags.js';
import { runTargets } from '../hosts/settings.js';
import { runCommand } from './run-command.js';
import type { RunHostsFlags } from './run-program.js';

/** Runs `args` on the hosts the flags name. Throws CONFIG for bad hosts or config. */
export async function runHosts(
  args: readonly string[],
  flags: RunHostsFlags,
  command: Command,
  io: CliIo,
): Promise<number> {
  const connection = readConnectionFlags(command);
  // The program's arguments as typed (commander keeps them, untyped, as rawArgs).
  const raw = ((command.parent ?? command) as unknown as { rawArgs?: unknown }).rawArgs;
  const rawArgs = Array.isArray(raw) ? (raw as string[]) : [];
  // A host name slipped into the command is a CliError (USAGE, 2): main() prints it.
  const { targets, many, args: commandArgs } = runTargets(connection, args, rawArgs, flags.hostsFile, flags.exclude);
  if (many) {
    const { fanOutCommand } = await import('../fanout/fanout-command.js');
    return fanOutCommand(commandArgs, flags, targets, io);
  }
  return runCommand(commandArgs, flags, targets[0] as (typeof targets)[number], io);
}
