// The argument parsers of both programs' flags: whole numbers (milliseconds, counts,
// ports, ranges), NAME=VALUE pairs and repeatable lists. Each throws commander's
// InvalidArgumentError, whose message commander prints after the flag's name.
import { InvalidArgumentError } from 'commander';

/** A whole number written in decimal digits only, within min..max; undefined when not. */
function wholeNumber(value: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < min || number > max) return undefined;
  return number;
}

/** A positive number of milliseconds (--timeout, --connect-timeout, --wait). */
export function parseMs(value: string): number {
  const number = wholeNumber(value, 1);
  if (number === undefined)
    throw new InvalidArgumentError(`expected a positive number of milliseconds, not "${value}"`);
  return number;
}

/** A positive count (--parallel). */
export function parsePositiveCount(value: string): number {
  const number = wholeNumber(value, 1);
  if (number === undefined) throw new InvalidArgumentError(`expected a positive number, not "${value}"`);
  return number;
}

/** A count that may be 0 (--preview). */
export function parseCount(value: string): number {
  const number = wholeNumber(value, 0);
  if (number === undefined) throw new InvalidArgumentError(`expected a number, not "${value}"`);
  return number;
}

/** A TCP port a client connects to, 1..65535. */
export function parsePort(value: string): number {
  const number = wholeNumber(value, 1, 65535);
  if (number === undefined) throw new InvalidArgumentError(`the port must be a number 1..65535, not "${value}"`);
  return number;
}

/** A parser of whole numbers min..max (rexecd's flags; blanks around the digits allowed). */
export function integerIn(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const number = wholeNumber(value.trim(), min, max);
    if (number === undefined) {
      throw new InvalidArgumentError(`expected an integer ${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}`);
    }
    return number;
  };
}

/** NAME=VALUE, repeatable, into one object (-e). */
export function collectEnv(
  value: string,
  previous: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const equals = value.indexOf('=');
  if (equals <= 0) throw new InvalidArgumentError(`expected NAME=VALUE, not "${value}"`);
  return { ...previous, [value.slice(0, equals)]: value.slice(equals + 1) };
}

/** A repeatable flag's values, in order (--name). */
export function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Comma-separated names, repeatable (--only). */
export function collectNames(value: string, previous: readonly string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  ];
}
