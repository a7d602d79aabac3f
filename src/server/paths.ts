// Where a command runs and which file it runs (docs/protocol.md section 4): the cwd must
// really be inside the root (symlinks followed), and argv[0] is found only in the
// server's fixed search path.
import { accessSync, constants, statSync } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { RexecError } from '../errors.js';

/** True when `path` is `root` or lies below it (both real, absolute paths). */
export function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  const base = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(base);
}

/**
 * The real working directory of a request. A relative cwd is taken from the root;
 * outside the root is DENIED (also when the path does not exist, so that a refusal
 * reveals nothing about what lies outside, and when it leads through a dangling link,
 * whose destination is unknown); a missing directory inside is SPAWN_FAILED.
 */
export async function resolveCwd(root: string, cwd: string | undefined, id: number): Promise<string> {
  if (cwd === undefined || cwd === '') return root;
  const wanted = isAbsolute(cwd) ? resolve(cwd) : resolve(root, cwd);
  let real: string;
  try {
    real = await realpath(wanted);
  } catch (error) {
    const existing = await nearestReal(wanted);
    if (existing === undefined || !isInside(root, existing)) throw deniedCwd(cwd, id);
    throw new RexecError('SPAWN_FAILED', `cwd ${cwd}: ${errorText(error)}`, { id, cause: error });
  }
  if (!isInside(root, real)) throw deniedCwd(cwd, id);
  let info;
  try {
    info = await stat(real);
  } catch (error) {
    throw new RexecError('SPAWN_FAILED', `cwd ${cwd}: ${errorText(error)}`, { id, cause: error });
  }
  if (!info.isDirectory()) {
    throw new RexecError('SPAWN_FAILED', `cwd ${cwd} is not a directory`, { id });
  }
  return real;
}

/**
 * The file to execute for argv[0]: a name is looked up in `searchPath` only; a name
 * with a slash is taken relative to `cwd`. Missing is NOT_FOUND; present but not an
 * executable file is SPAWN_FAILED. Synchronous on purpose: a few stat calls on system
 * directories cost microseconds, while a round trip through the thread pool per
 * directory costs more than the rest of a request (this is on every exec's path).
 */
export function resolveExecutable(name: string, cwd: string, searchPath: string, id: number): string {
  if (name.includes('/')) {
    const file = resolve(cwd, name);
    const problem = executableProblem(file);
    if (problem === undefined) return file;
    if (problem === 'missing') throw notFound(name, id);
    throw new RexecError('SPAWN_FAILED', `${name}: ${problem}`, { id });
  }
  let firstProblem: string | undefined;
  for (const dir of searchPath.split(':')) {
    // An empty or relative entry would depend on the cwd: skipped.
    if (!isAbsolute(dir)) continue;
    const file = join(dir, name);
    const problem = executableProblem(file);
    if (problem === undefined) return file;
    if (problem !== 'missing') firstProblem ??= problem;
  }
  if (firstProblem !== undefined) {
    throw new RexecError('SPAWN_FAILED', `${name}: ${firstProblem}`, { id });
  }
  throw notFound(name, id);
}

function executableProblem(file: string): string | undefined {
  let info;
  try {
    // throwIfNoEntry: false: a missing file is the common case of a PATH search, and
    // building an exception for it costs more than the lookup.
    info = statSync(file, { throwIfNoEntry: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Stryker disable next-line ConditionalExpression,StringLiteral: Node 20 throws ENOTDIR here, Node 22+ (which runs the mutation tests) returns undefined for it.
    return code === 'ENOTDIR' ? 'missing' : errorText(error);
  }
  if (info === undefined) return 'missing';
  if (!info.isFile()) return 'not a regular file';
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return 'permission denied (not executable)';
  }
  return undefined;
}

// The real path of the nearest entry on the way to `path` that exists (by lstat), or
// undefined when that entry is a link that leads nowhere: a link planted in the root
// that points outside must get the same answer whether or not its target exists.
async function nearestReal(path: string): Promise<string | undefined> {
  let current = path;
  for (;;) {
    try {
      await lstat(current);
    } catch {
      const parent = dirname(current);
      // Stryker disable next-line ConditionalExpression: "/" always exists, so the walk ends before this.
      if (parent === current) return current;
      current = parent;
      continue;
    }
    return realpath(current).catch(() => undefined);
  }
}

function deniedCwd(cwd: string, id: number): RexecError {
  return new RexecError('DENIED', `cwd ${cwd} is outside the server's root`, { id });
}

function notFound(name: string, id: number): RexecError {
  return new RexecError('NOT_FOUND', `${name}: command not found`, { id });
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such directory';
  if (e.code === 'ENOTDIR') return 'not a directory';
  if (e.code === 'EACCES') return 'permission denied';
  return e.message ?? String(error);
}
