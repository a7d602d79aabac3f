// The action of `rexec shell`, loaded when it runs: the prompt, or with -t the server's
// own interactive shell on a terminal.
import type { Command } from 'commander';
import type { CliIo } from '../../shared/io.js';
// Loaded on demand: see core.ts for why this import is here.
import '../core.js';
import { connectionSettings } from '../hosts/settings.js';
import { loginShell } from './login-shell.js';
import { shellCommand } from './shell-command.js';

/** Runs the shell; resolves with the exit status. */
export async function shellAction(flags: { readonly tty?: boolean }, command: Command, io: CliIo): Promise<number> {
  const settings = connectionSettings(command);
  return flags.tty === true ? loginShell(settings, io) : shellCommand(settings, io);
}
