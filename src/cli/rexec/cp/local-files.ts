// This machine's side of `rexec cp`: what a local source is, the spool for stdin, the
// walk of a directory for -r, and the names files are copied under. A failure here is a
// CliError (LOCAL_FILE, status 1): that file fails, the others still copy.
import { mkdir, mkdtemp, open, readdir, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from '../../shared/cli-error.js';
import { errnoText as reason } from '../../shared/errno-text.js';
import { STATUS_SOME_FAILED } from '../../shared/exit-status.js';

/** A failure of one file on this machine's side, said in one line. */
export function localFileError(message: string): CliError {
  return new CliError(STATUS_SOME_FAILED, 'LOCAL_FILE', message);
}

/** The size and mode of a local file to upload; throws LocalFileError if it cannot be one. */
export async function localSource(path: string): Promise<{ size: number; mode: number }> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw localFileError(`cannot read ${path}: ${reason(error)}`);
  }
  if (info.isDirectory()) throw localFileError(`${path} is a directory (use -r to copy it)`);
  if (!info.isFile()) throw localFileError(`${path} is not a regular file`);
  return { size: info.size, mode: info.mode & 0o7777 };
}

/** The mode a new file gets from `mode` without -p, as cp and scp give it: its permission bits less our umask. */
export function newFileMode(mode: number): number {
  return mode & 0o777 & ~process.umask();
}

/**
 * Copies a stream of unknown length (stdin) to a private temporary file, so that its
 * size is known before a put: memory stays bounded whatever its length. `signal` stops
 * the copy (stdin may never end) and removes the file. The caller calls `remove()` when done.
 */
export async function spool(
  input: Readable,
  signal?: AbortSignal,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rexec-cp-'));
  const path = join(dir, 'stdin');
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const handle = await open(path, 'wx', 0o600);
    const sink = handle.createWriteStream({ autoClose: false });
    try {
      await pipeline(input, sink, signal === undefined ? {} : { signal });
    } finally {
      sink.destroy();
      await handle.close().catch(() => undefined);
    }
  } catch (error) {
    await remove();
    throw localFileError(`cannot read stdin: ${reason(error)}`);
  }
  return { path, remove };
}

/** A file found by walking a local directory for -r. */
export interface WalkEntry {
  /** Its path on this machine. */
  readonly path: string;
  /** Its path below the walked directory, with "/" separators. */
  readonly relative: string;
  readonly size: number;
}

/**
 * The regular files below `dir`, in a stable order. Symlinks are followed (a link to a
 * directory that is already on the way down is a loop and is skipped); anything that is
 * not a file or directory is reported through `skipped`.
 */
export async function walkDirectory(dir: string, skipped: (path: string, why: string) => void): Promise<WalkEntry[]> {
  const found: WalkEntry[] = [];
  const visit = async (path: string, relative: string, ancestors: ReadonlySet<string>): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(path)).sort();
    } catch (error) {
      skipped(path, `cannot read the directory: ${reason(error)}`);
      return;
    }
    for (const name of names) {
      const child = join(path, name);
      const childRelative = relative === '' ? name : `${relative}/${name}`;
      let info;
      try {
        info = await stat(child);
      } catch (error) {
        skipped(child, reason(error));
        continue;
      }
      if (info.isDirectory()) {
        const real = await realpath(child).catch(() => child);
        if (ancestors.has(real)) {
          skipped(child, 'a symbolic link loop');
          continue;
        }
        await visit(child, childRelative, new Set([...ancestors, real]));
      } else if (info.isFile()) {
        found.push({ path: child, relative: childRelative, size: info.size });
      } else {
        skipped(child, 'not a regular file');
      }
    }
  };
  await visit(dir, '', new Set([await realpath(dir)]));
  return found;
}

/** Creates a local directory and its parents. */
export async function makeLocalDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    throw localFileError(`cannot create ${path}: ${reason(error)}`);
  }
}

/** True when `path` is an existing directory (symlinks followed). */
export async function isLocalDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/**
 * The name a local source is copied under: the last component of its resolved path, so
 * that `..` or `.` is named after the directory it stands for (and never leads out of
 * the target).
 */
export function localName(path: string): string {
  return basename(resolve(path));
}

/** The last component of a path, "/" separators (server paths and local ones alike). */
export function lastComponent(path: string): string {
  return basename(path.replace(/\/+$/, '')) || path;
}
