// The operands of `rexec cp`: which side each is on (a leading colon marks the server's,
// as scp's `host:` does), and which way the copy goes. Pure: no file system.
import { posix } from 'node:path';
import { CliError } from '../../shared/cli-error.js';
import { STATUS_FAILURE } from '../../shared/exit-status.js';

/** A copy's direction and operands, once the operands make sense. */
export type CopyPlan =
  | {
      readonly direction: 'upload';
      /** Local paths, or "-" for stdin. */
      readonly sources: readonly string[];
      /** The server path after the colon ("" is the root). */
      readonly target: string;
      /** True when the target names a directory: the sources land inside it. */
      readonly intoDirectory: boolean;
    }
  | {
      readonly direction: 'download';
      /** Server paths (without the colon). */
      readonly sources: readonly string[];
      /** A local path, or "-" for stdout. */
      readonly target: string;
    };

// A usage mistake, said in one line; rexec exits 255 for it, as for its other usage errors.
function usage(message: string): CliError {
  return new CliError(STATUS_FAILURE, 'USAGE', message);
}

/** True for an operand on the server's side: it starts with a colon. */
export function isRemote(operand: string): boolean {
  return operand.startsWith(':');
}

/** Turns `SOURCE... TARGET` into a plan; throws a CliError (USAGE) when it cannot be one. */
export function planCopy(operands: readonly string[], recursive: boolean): CopyPlan {
  if (operands.length < 2)
    throw usage('cp needs a SOURCE and a TARGET: rexec cp LOCAL... :REMOTE, or rexec cp :REMOTE... LOCAL');
  const sources = operands.slice(0, -1);
  const target = operands[operands.length - 1] as string;
  const remoteSources = sources.filter(isRemote);
  if (isRemote(target)) {
    if (remoteSources.length > 0) {
      throw usage(
        `both ${remoteSources[0]} and ${target} are on the server: copy between servers in two steps (download, then upload)`,
      );
    }
    if (sources.includes('-')) {
      if (sources.length > 1) throw usage('"-" (stdin) must be the only source');
      if (recursive) throw usage('"-" (stdin) cannot be copied with -r');
    }
    const path = target.slice(1);
    const intoDirectory = path === '' || path.endsWith('/') || sources.length > 1 || recursive;
    if (sources.includes('-') && intoDirectory) {
      throw usage(`give the file name to write stdin to on the server, e.g. :${posix.join(path, 'stdin.txt')}`);
    }
    return { direction: 'upload', sources, target: path, intoDirectory };
  }
  if (remoteSources.length !== sources.length) {
    const local = sources.find((source) => !isRemote(source)) as string;
    throw usage(
      remoteSources.length === 0
        ? `neither ${local} nor ${target} is on the server: mark the server's side with a colon, e.g. :${local}`
        : `${local} and ${target} are both local: mark the server's side with a colon`,
    );
  }
  const paths = sources.map((source) => source.slice(1));
  if (paths.includes('')) throw usage('":" alone names the server\'s root directory: give a file, or use -r');
  if (target === '-' && (paths.length > 1 || recursive)) throw usage('"-" (stdout) takes exactly one file, without -r');
  return { direction: 'download', sources: paths, target };
}

/** Where a local source lands on the server (posix paths). */
export function remoteDestination(
  plan: { target: string; intoDirectory: boolean },
  localName: string,
  relative = '',
): string {
  if (!plan.intoDirectory) return plan.target;
  const base = plan.target === '' ? '' : plan.target;
  return posix.join(base, localName, relative).replace(/^\.\//, '');
}
