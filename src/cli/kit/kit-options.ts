// What the test-kit commands (`conformance`, `frames`) have beyond the shared parsers:
// a server address, and the key file with its REXEC_* defaults.
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { defaultKeyFile } from '../../common/key-file.js';
import { DEFAULT_PORT, DEFAULT_USER } from '../../protocol/constants.js';

/** HOST:PORT, [IPv6]:PORT, or HOST alone for the default port (7077). */
export function parseTarget(value: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  const port = Number(match?.[2] ?? DEFAULT_PORT);
  if (match === null || match[1] === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`expected HOST:PORT (e.g. 127.0.0.1:7077), not "${value}"`);
  }
  return { host: match[1], port };
}

/** -k and -u with the environment defaults the other subcommands have. */
export function addKeyOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-k, --key-file <path>', 'file holding the shared key')
        .env('REXEC_KEY_FILE')
        .default(defaultKeyFile()),
    )
    .addOption(new Option('-u, --user <name>', 'user name the key belongs to').env('REXEC_USER').default(DEFAULT_USER));
}

/** An option's value, from this command's flags or, when given there, an ancestor's (`rexec -k F conformance ...`). */
export function inheritedOption(command: Command, key: string): unknown {
  for (let at: Command | null = command; at !== null; at = at.parent) {
    if (at.getOptionValueSource(key) === 'cli') return at.getOptionValue(key);
  }
  return command.getOptionValue(key);
}
