// `put` and `get` at the `rexec shell` prompt: `rexec cp` for one file, with server
// paths taken from the shell's directory (`cd`) and local ones from ours.
import { posix } from 'node:path';
import type { CopyPlan } from '../cp/cp-args.js';
import type { CpFlags } from '../cp/copy.js';

/** A transfer typed at the prompt, or why it is not one. */
export type ShellTransfer = { readonly plan: CopyPlan; readonly flags: CpFlags } | { readonly usage: string };

const USAGE = {
  put: 'usage: put [-f] [-p] LOCAL [REMOTE]  (copy a local file to the server; -f overwrites, -p keeps the mode)',
  get: 'usage: get [-f] [-p] REMOTE [LOCAL]  (copy a file from the server; -f overwrites, -p keeps mode and time)',
} as const;

/** True for the words the shell handles itself as file transfers. */
export function isShellTransfer(word: string | undefined): word is 'put' | 'get' {
  return word === 'put' || word === 'get';
}

/**
 * The copy for `put ...` / `get ...`: `cwd` is the shell's directory on the server
 * (absolute), or undefined for the root.
 */
export function parseShellTransfer(argv: readonly string[], cwd: string | undefined): ShellTransfer {
  const [verb, ...rest] = argv as ['put' | 'get', ...string[]];
  const flags = { force: false, preserve: false };
  const operands: string[] = [];
  for (const word of rest) {
    if (word === '-f') flags.force = true;
    else if (word === '-p') flags.preserve = true;
    else if (word.startsWith('-') && word !== '-') return { usage: USAGE[verb] };
    else operands.push(word);
  }
  if (operands.length < 1 || operands.length > 2) return { usage: USAGE[verb] };
  const onServer = (path: string): string =>
    cwd === undefined || posix.isAbsolute(path) ? path : posix.join(cwd, path);
  if (verb === 'put') {
    const [local, remote] = operands as [string, string | undefined];
    const name = posix.basename(local.replace(/\/+$/, ''));
    let target = onServer(remote ?? name);
    if (remote === undefined || remote.endsWith('/') || remote === '.')
      target = posix.join(onServer(remote ?? '.'), name);
    return { plan: { direction: 'upload', sources: [local], target, intoDirectory: false }, flags };
  }
  const [remote, local] = operands as [string, string | undefined];
  return {
    plan: { direction: 'download', sources: [onServer(remote)], target: local ?? '.' },
    flags,
  };
}
