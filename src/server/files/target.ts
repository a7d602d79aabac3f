// Where a transfer's path leads (docs/protocol.md section 9): resolved like an exec's cwd, the
// real path of its parent must lie inside the root (and inside `filesDir` when the
// policy sets one); the final component is judged without following it for a put, and
// followed only into the root for a get. A path outside is DENIED whether or not it
// exists, so that a refusal reveals nothing about what lies outside.
import { lstat, mkdir, readlink, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { RexecError } from '../../errors.js';
import { isInside } from '../paths.js';

/** The directories a user's transfers are confined to (real paths). */
export interface FileScope {
  /** The policy's root: relative paths start here. */
  readonly root: string;
  /** Where transfers may go: `filesDir` when set, else the root. */
  readonly scope: string;
  /** `filesDir` as configured, for refusals that name the rule. */
  readonly filesDir: string | undefined;
}

/** A resolved target: its real parent directory and its final name. */
export interface Target {
  readonly dir: string;
  readonly name: string;
  /** `dir`/`name`: the path the transfer reads or writes. */
  readonly path: string;
}

/** What a put finds at its target. */
export type Existing = 'none' | 'file';

/**
 * Resolves a put's target and checks what is there (in the order of precedence:
 * DENIED, NOT_FOUND, then EXISTS / BAD_REQUEST for what is in the way). With `mkdirs`
 * missing parents are created, one at a time, each checked to be inside the scope.
 */
export async function resolvePutTarget(
  scope: FileScope,
  path: string,
  id: number,
  options: { readonly overwrite: boolean; readonly mkdirs: boolean },
): Promise<Target & { readonly existing: Existing }> {
  const { parent, name } = split(scope, path, id);
  const dir = await realParent(scope, parent, path, id, options.mkdirs);
  const target = { dir, name, path: join(dir, name) };
  let info: Stats;
  try {
    info = await lstat(target.path);
  } catch (error) {
    if (errno(error) === 'ENOENT') return { ...target, existing: 'none' };
    throw ioError(path, error, id);
  }
  const shown = JSON.stringify(path);
  if (!options.overwrite) {
    throw new RexecError('EXISTS', `${shown} already exists (put with overwrite to replace a file)`, { id });
  }
  if (info.isSymbolicLink()) {
    throw new RexecError('DENIED', `${shown} is a symbolic link: a put never writes through a link`, { id });
  }
  if (info.isDirectory()) throw new RexecError('BAD_REQUEST', `${shown} is a directory`, { id });
  if (!info.isFile()) throw new RexecError('BAD_REQUEST', `${shown} is not a regular file`, { id });
  return { ...target, existing: 'file' };
}

/**
 * Resolves a get's source to the real path of a regular file inside the scope: a final
 * symlink is followed only when its real path is inside too. Missing is NOT_FOUND; a
 * directory, device, FIFO or socket is BAD_REQUEST.
 */
export async function resolveGetSource(scope: FileScope, path: string, id: number): Promise<Target> {
  const { parent, name } = split(scope, path, id);
  const dir = await realParent(scope, parent, path, id, false);
  const full = join(dir, name);
  let info: Stats;
  try {
    info = await lstat(full);
  } catch (error) {
    if (missing(error)) throw notFound(path, id);
    throw ioError(path, error, id);
  }
  let real = full;
  // Stryker disable next-line ConditionalExpression: for a file that is no link, realpath and stat give what lstat gave; the test only saves the calls.
  if (info.isSymbolicLink()) {
    try {
      real = await realpath(full);
    } catch (error) {
      if (!missing(error)) throw ioError(path, error, id);
      // A dangling link: NOT_FOUND only when where it points is inside the scope.
      const pointsTo = resolve(dir, await readlink(full).catch(() => '/'));
      await nearestExisting(scope, pointsTo, path, id);
      throw notFound(path, id);
    }
    checkInside(scope, real, path, id);
    info = await stat(real).catch((error: unknown) => {
      throw ioError(path, error, id);
    });
  }
  if (info.isDirectory()) throw new RexecError('BAD_REQUEST', `${JSON.stringify(path)} is a directory`, { id });
  if (!info.isFile()) throw new RexecError('BAD_REQUEST', `${JSON.stringify(path)} is not a regular file`, { id });
  return { dir: dirname(real), name: basename(real), path: real };
}

/** The RexecError for a failed file system call on a transfer (SPAWN_FAILED with the system's words). */
export function ioError(path: string, error: unknown, id: number): RexecError {
  if (error instanceof RexecError) return error;
  const e = error as NodeJS.ErrnoException;
  const text = e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : (e.message ?? String(error));
  return new RexecError('SPAWN_FAILED', `${JSON.stringify(path)}: ${text}`, { id, cause: error });
}

// The lexical parent and final name. A path that names a directory by its form (a
// trailing slash, "." or "..") is BAD_REQUEST: it can never be a file.
function split(scope: FileScope, path: string, id: number): { parent: string; name: string } {
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (last === '' || last === '.' || last === '..') {
    throw new RexecError('BAD_REQUEST', `${JSON.stringify(path)} names a directory, not a file`, { id });
  }
  const wanted = isAbsolute(path) ? resolve(path) : resolve(scope.root, path);
  return { parent: dirname(wanted), name: basename(wanted) };
}

// The real path of the parent directory; created (mkdirs) when missing and allowed.
async function realParent(
  scope: FileScope,
  parent: string,
  path: string,
  id: number,
  mkdirs: boolean,
): Promise<string> {
  let real: string;
  try {
    real = await realpath(parent);
  } catch (error) {
    if (!missing(error)) throw ioError(path, error, id);
    const { real: ancestor, rest } = await nearestExisting(scope, parent, path, id);
    if (!(await isDirectory(ancestor))) throw notDirectory(path, id);
    if (!mkdirs) {
      throw new RexecError(
        'NOT_FOUND',
        `the directory of ${JSON.stringify(path)} does not exist (put with mkdirs to create it)`,
        { id },
      );
    }
    return makeDirs(scope, ancestor, rest, path, id);
  }
  checkInside(scope, real, path, id);
  if (!(await isDirectory(real))) throw notDirectory(path, id);
  return real;
}

// Walks up from `path` to the first component that exists: its real path must be inside
// the scope (a dangling link on the way is refused: where it leads is unknown).
async function nearestExisting(
  scope: FileScope,
  path: string,
  shown: string,
  id: number,
): Promise<{ real: string; rest: string[] }> {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    let exists = true;
    try {
      await lstat(current);
    } catch (error) {
      if (!missing(error)) throw ioError(shown, error, id);
      exists = false;
    }
    if (exists) {
      let real: string;
      try {
        real = await realpath(current);
      } catch (error) {
        if (!missing(error)) throw ioError(shown, error, id);
        throw new RexecError('DENIED', `${JSON.stringify(shown)} leads through a dangling symbolic link`, { id });
      }
      checkInside(scope, real, shown, id);
      return { real, rest };
    }
    const up = dirname(current);
    // Stryker disable next-line ConditionalExpression: "/" always exists, so the walk ends before this.
    if (up === current) throw outsideRoot(shown, id);
    rest.unshift(basename(current));
    current = up;
  }
}

// Creates `rest` below the real directory `base`, one level at a time; an entry that
// appears meanwhile must be a directory whose real path is still inside the scope.
// (Exported for the tests of that race.)
export async function makeDirs(
  scope: FileScope,
  base: string,
  rest: readonly string[],
  path: string,
  id: number,
): Promise<string> {
  let current = base;
  for (const part of rest) {
    const next = join(current, part);
    try {
      await mkdir(next, 0o755);
      current = next;
      continue;
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw ioError(path, error, id);
    }
    let real: string;
    try {
      real = await realpath(next);
    } catch (error) {
      if (!missing(error)) throw ioError(path, error, id);
      throw new RexecError('DENIED', `${JSON.stringify(path)} leads through a dangling symbolic link`, { id });
    }
    checkInside(scope, real, path, id);
    if (!(await isDirectory(real))) throw notDirectory(path, id);
    current = real;
  }
  return current;
}

function checkInside(scope: FileScope, real: string, path: string, id: number): void {
  if (!isInside(scope.root, real)) throw outsideRoot(path, id);
  if (!isInside(scope.scope, real)) {
    throw new RexecError(
      'DENIED',
      `${JSON.stringify(path)} is outside ${scope.filesDir ?? scope.scope} (rule: filesDir)`,
      { id, rule: 'filesDir' },
    );
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function outsideRoot(path: string, id: number): RexecError {
  return new RexecError('DENIED', `${JSON.stringify(path)} is outside the server's root`, { id });
}

function notFound(path: string, id: number): RexecError {
  return new RexecError('NOT_FOUND', `${JSON.stringify(path)}: no such file`, { id });
}

function notDirectory(path: string, id: number): RexecError {
  return new RexecError('NOT_FOUND', `the parent of ${JSON.stringify(path)} is not a directory`, { id });
}

function errno(error: unknown): string | undefined {
  // Stryker disable next-line OptionalChaining: file system calls reject with Error objects, never undefined.
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function missing(error: unknown): boolean {
  const code = errno(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
