// Option parsers shared by the test-kit commands (`conformance`, `frames`): a server
// address, milliseconds, name lists, and the key file with its REXEC_* defaults.
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { defaultKeyFile } from '../../common/key-file.js';

/** HOST:PORT, [IPv6]:PORT, or HOST alone for port 7077. */
export function parseTarget(value: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  const port = Number(match?.[2] ?? 7077);
  if (match === null || match[1] === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`expected HOST:PORT (e.g. 127.0.0.1:7077), not "${value}"`);
  }
  return { host: match[1], port };
}

/** A positive number of milliseconds. */
export function parseMs(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < 1 || !Number.isSafeInteger(number)) {
    throw new InvalidArgumentError(`expected a positive number of milliseconds, not "${value}"`);
  }
  return number;
}

/** A non-negative integer. */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a number, not "${value}"`);
  return Number(value);
}

/** Comma-separated names, repeatable. */
export function collectNames(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((name) => name.trim()).filter((name) => name !== '')];
}

/** -k and -u with the environment defaults the other subcommands have. */
export function addKeyOptions(command: Command): Command {
  return command
    .addOption(new Option('-k, --key-file <path>', 'file holding the shared key').env('REXEC_KEY_FILE').default(defaultKeyFile()))
    .addOption(new Option('-u, --user <name>', 'user name the key belongs to').env('REXEC_USER').default('default'));
}

/** An option's value, from this command's flags or, when given there, an ancestor's (`rexec -k F conformance ...`). */
export function inheritedOption(command: Command, key: string): unknown {
  for (let at: Command | null = command; at !== null; at = at.parent) {
    if (at.getOptionValueSource(key) === 'cli') return at.getOptionValue(key);
  }
  return command.getOptionValue(key);
}
