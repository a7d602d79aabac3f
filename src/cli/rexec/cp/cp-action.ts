// The action of `rexec cp`, loaded when it runs: one host, or the same upload to several.
import type { Command } from 'commander';
import type { CliIo } from '../../shared/io.js';
// Loaded on demand: see core.ts for why this import is here.
import '../core.js';
import { readConnectionFlags } from '../hosts/flags.js';
import { hostTargets } from '../hosts/settings.js';
import type { CpFlags } from './copy.js';
import { cpCommand } from './cp-command.js';
import { cpHostsCommand } from './cp-hosts.js';

/** Copies to or from the hosts -H names; resolves with the exit status. */
export async function cpAction(
  operands: readonly string[],
  flags: CpFlags,
  command: Command,
  io: CliIo,
): Promise<number> {
  const { targets, many } = hostTargets(readConnectionFlags(command), flags.exclude);
  const [first] = targets;
  if (many || first === undefined) return cpHostsCommand(operands, flags, targets, io);
  return cpCommand(operands, flags, first, io);
}
