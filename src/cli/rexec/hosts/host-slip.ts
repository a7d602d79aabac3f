// A host name that slipped into the command: `rexec run NAME -- CMD` takes NAME as the
// host only when `--` follows it directly, so `rexec run lab --group -- cmd` (an option
// after the name) or `rexec run labl -- cmd` (a typo) would run `lab ...` or `labl ...`
// as a command on the default host. Such a command line is refused, with the right form.
import { quote } from 'shell-quote';
import { CliError } from '../../shared/cli-error.js';
import { STATUS_USAGE } from '../../shared/exit-status.js';
import type { HostsConfig } from './config-file.js';

// Near names are only looked for among names this long: short ones are near everything.
const NEAR_MIN_LENGTH = 3;

/**
 * Throws a CliError (USAGE, status 2) when the command (no host given otherwise, and no `--` before
 * it) starts with a host or group name of the config file not followed directly by
 * `--`, or with a name one edit away from one while a `--` follows later (as the host
 * form has).
 */
export function checkHostSlip(args: readonly string[], config: HostsConfig): void {
  const [first, ...rest] = args;
  if (first === undefined) return;
  const separator = rest.indexOf('--');
  const configured = config.hosts.has(first) || config.groups.has(first);
  let name: string | undefined;
  if (configured && separator !== 0) name = first;
  else if (!configured && separator >= 0) name = nearName(first, config);
  if (name === undefined) return;
  const options = separator < 0 ? [] : rest.slice(0, separator);
  const command = separator < 0 ? rest : rest.slice(separator + 1);
  const onHost = `rexec run ${quote([...options, name, '--', ...(command.length === 0 ? ['CMD'] : command)])}`;
  const asCommand = `rexec run -- ${quote(args)}`;
  const meant = name === first ? '' : ` (did you mean ${name}?)`;
  throw new CliError(
    STATUS_USAGE,
    'USAGE',
    `${JSON.stringify(first)} looks like a host name${meant}: to run on ${name}, write ${onHost} (or -H ${name}); ` +
      `to run a command called ${first} on the default host, write ${asCommand}`,
  );
}

/** The configured host or group one edit away from `word`, if there is one. */
export function nearName(word: string, config: HostsConfig): string | undefined {
  for (const name of [...config.hosts.keys(), ...config.groups.keys()]) {
    if (name.length >= NEAR_MIN_LENGTH && oneEditApart(word, name)) return name;
  }
  return undefined;
}

/**
 * True when `a` and `b` differ by exactly one edit (Damerau-Levenshtein distance 1: a
 * character inserted, deleted, replaced, or two neighbours swapped), or only in case.
 */
export function oneEditApart(a: string, b: string): boolean {
  if (a === b) return false;
  if (a.toLowerCase() === b.toLowerCase()) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  const [shorter, longer] = a.length < b.length ? [a, b] : [b, a];
  return shorter.slice(i) === longer.slice(i + 1);
}
