// The symlink owner rule of transfers (in the spirit of Linux's fs.protected_symlinks):
// a symbolic link that belongs to another account than the one doing the transfer (and
// not to root) is followed only to that account's own file (get) or into its own
// directory (put). So a student's link cannot make the teacher fetch another student's
// work as hers, or write into another's directory.
//
// rexecd checks it itself, before the transfer starts, by walking the path with lstat
// and readlink (metadata only, no file is opened): inside the sandbox every other
// account looks the same (unmapped uids show as nobody), so the helper could not tell.
// A get then compares the file it opened with the one checked (device and inode), so a
// link swapped in between cannot slip another file in.
import { lstat, readlink } from 'node:fs/promises';
import type { BigIntStats, Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RexecError } from '../../errors.js';
import { isInside } from '../paths.js';
import { accountName } from '../policy/accounts.js';
import type { FileScope } from './target.js';

// As the kernel: more links than this on one path is ELOOP, a longer path ENAMETOOLONG.
const MAX_LINKS = 40;
const PATH_MAX = 4096;
// Components looked at, links' included: bounds the work one request can cause. A path
// that takes more is refused, not left to the transfer: the kernel resolves it all the
// same (41 link targets of up to 2048 components each, "." as cheap as any).
const MAX_STEPS = 4 * PATH_MAX;

/** What the rule saw at the end of a get's path: the file the transfer must open. */
export type CheckedFile = string;

interface Walk {
  /** The real path reached: the whole path, or the deepest part that exists. */
  readonly real: string;
  /** Whether every component exists. */
  readonly complete: boolean;
  /** Owners (uids) of the links followed on the way. */
  readonly linkOwners: readonly number[];
}

/**
 * Throws DENIED (rule: symlink owner) when the path leads through another account's
 * link to what that account does not own. For a get, returns the identity of the file
 * checked (for `confirmSameFile`), or undefined when nothing was found to check (the
 * transfer itself then reports what is wrong: NOT_FOUND, outside the root, ...).
 */
export async function checkLinkOwners(
  scope: FileScope,
  op: 'put' | 'get',
  path: string,
  id: number,
  follower: number,
): Promise<CheckedFile | undefined> {
  // A path that names a directory by its form is the transfer's BAD_REQUEST.
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (last === '' || last === '.' || last === '..' || path.length >= PATH_MAX) return undefined;
  // "." and ".." of the request are taken lexically first, as the transfer does (target.ts).
  const walk = await walkPath(resolve(scope.root, path), op === 'get');
  if (walk === 'too many steps') {
    throw new RexecError(
      'DENIED',
      `${JSON.stringify(path)} takes more than ${MAX_STEPS} steps to resolve: it is not followed (rule: symlink owner)`,
      { id },
    );
  }
  if (walk === undefined || !isInside(scope.root, walk.real)) return undefined;
  // put: the directory written into (or where missing ones would be made); get: the file.
  const place = op === 'put' && walk.complete ? dirname(walk.real) : walk.real;
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: exact device and inode numbers differ from numbers only past 2^53, which the file systems of the tests do not reach.
  const info = await lstat(place, { bigint: true }).catch(() => undefined);
  if (info === undefined || (op === 'get' && !walk.complete)) return undefined;
  const owner = Number(info.uid);
  for (const linkOwner of new Set(walk.linkOwners)) {
    if (linkOwner === follower || linkOwner === 0 || linkOwner === owner) continue;
    const what = op === 'get' ? 'a file' : 'a directory';
    throw new RexecError(
      'DENIED',
      `${JSON.stringify(path)} leads through a symbolic link of ${accountName(linkOwner)} to ${what} of ` +
        `${accountName(owner)}: such a link is followed only to its owner's own files (rule: symlink owner)`,
      { id },
    );
  }
  return op === 'get' ? identity(info) : undefined;
}

/** The identity of an opened file, as `checkLinkOwners` gives it. */
export function identity(info: Pick<BigIntStats, 'dev' | 'ino'>): CheckedFile {
  return `${info.dev}:${info.ino}`;
}

/** Throws DENIED when the file a get opened is not the one checked (a link swapped in between). */
export function confirmSameFile(checked: CheckedFile | undefined, opened: CheckedFile, path: string, id: number): void {
  if (checked === undefined || checked === opened) return;
  throw new RexecError('DENIED', `${JSON.stringify(path)} changed while it was opened (rule: symlink owner)`, { id });
}

// Resolves `start` one component at a time, as realpath does, noting each link's owner.
// The final component is followed only with `followLast`. Undefined when the path
// cannot be walked (a loop, a permission): the transfer itself reports that; 'too many
// steps' past MAX_STEPS.
async function walkPath(start: string, followLast: boolean): Promise<Walk | 'too many steps' | undefined> {
  const pending = start.split('/');
  const linkOwners: number[] = [];
  let current = '/';
  let links = 0;
  let steps = 0;
  while (pending.length > 0) {
    if (++steps > MAX_STEPS) return 'too many steps';
    const part = pending.shift() as string;
    // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: a shortcut: join() below drops "" and ".", and lstat finds `current` again.
    if (part === '' || part === '.') continue;
    // Stryker disable next-line ConditionalExpression,StringLiteral,BlockStatement: a shortcut: join(current, "..") below is dirname(current), and lstat finds that directory.
    if (part === '..') {
      current = dirname(current);
      continue;
    }
    const next = join(current, part);
    let info: Stats;
    try {
      info = await lstat(next);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { real: current, complete: false, linkOwners };
      return undefined;
    }
    // The request's last component is a name (checked first), so whatever is pending holds one.
    if (info.isSymbolicLink() && (followLast || pending.length > 0)) {
      if (++links > MAX_LINKS) return undefined;
      linkOwners.push(Number(info.uid));
      const target = await readlink(next).catch(() => undefined);
      if (target === undefined) return undefined;
      if (target.startsWith('/')) current = '/';
      pending.unshift(...target.split('/'));
      continue;
    }
    current = next;
  }
  return { real: current, complete: true, linkOwners };
}
