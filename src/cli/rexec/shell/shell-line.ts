// One line typed at `rexec shell`, split with shell-quote's shell-like rules: a plain
// command becomes argv; operators, globs and variables need the server's shell.
import { parse } from 'shell-quote';

/** What a line asks for. */
export type ShellLine =
  | { readonly kind: 'empty' }
  | { readonly kind: 'exit'; readonly status: number | undefined }
  | { readonly kind: 'cd'; readonly dir: string | undefined }
  | { readonly kind: 'argv'; readonly argv: readonly string[] }
  /** Needs `/bin/sh -c`: `feature` names what, for the message when there is no shell. */
  | { readonly kind: 'shell'; readonly command: string; readonly feature: string }
  | { readonly kind: 'invalid'; readonly message: string };

/** Classifies one line. */
export function parseShellLine(line: string): ShellLine {
  const words: string[] = [];
  let feature: string | undefined;
  for (const entry of parse(line, (name) => ({ variable: name }))) {
    if (typeof entry === 'string') words.push(entry);
    else if ('comment' in entry) break;
    else if ('variable' in entry) feature ??= `the variable $${entry.variable}`;
    else if (entry.op === 'glob') feature ??= `the pattern ${entry.pattern}`;
    else feature ??= `the operator ${entry.op}`;
  }
  const first = words[0];
  if (feature !== undefined) {
    if (first === 'cd' || first === 'exit') {
      return { kind: 'invalid', message: `${first}: ${feature} is not supported here` };
    }
    return { kind: 'shell', command: line, feature };
  }
  if (first === undefined) return { kind: 'empty' };
  if (first === 'cd') {
    if (words.length > 2) return { kind: 'invalid', message: 'cd: too many arguments' };
    return { kind: 'cd', dir: words[1] };
  }
  if (first === 'exit') {
    const status = words[1];
    if (status === undefined) return { kind: 'exit', status: undefined };
    if (words.length > 2 || !/^\d+$/.test(status)) {
      return { kind: 'invalid', message: 'exit: usage: exit [status]' };
    }
    return { kind: 'exit', status: Number(status) & 0xff };
  }
  return { kind: 'argv', argv: words };
}
