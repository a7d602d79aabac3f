// Moving one file between this machine and the server with the client library, the
// local side as careful as the server's: a download is written to a temporary file
// beside its target and renamed into place only once its sha256 matched, so an
// interrupted or corrupted copy never leaves a partial file under the target's name.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, open, readdir, realpath, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RexecClient, TransferResult } from '../../../client/index.js';
import { errnoText as reason } from '../../shared/errno-text.js';
import { OutputError } from '../../shared/output-failure.js';

/** A failure of one file on this machine's side, said in one line. */
export class LocalFileError extends Error {}

/** How files are copied. */
export interface CopySettings {
  /** Replace existing files (never directories). */
  readonly force: boolean;
  /** Keep modes and modification times exactly. */
  readonly preserve: boolean;
  readonly signal?: AbortSignal;
  /** Bytes of the current file so far. */
  readonly onProgress?: (bytes: number) => void;
  /** A download's size, once the server has said it. */
  readonly onSize?: (size: number) => void;
}

// Reads of a local file, one frame body at a time.
const CHUNK = 1024 * 1024;

/** The size and mode of a local file to upload; throws LocalFileError if it cannot be one. */
export async function localSource(path: string): Promise<{ size: number; mode: number }> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new LocalFileError(`cannot read ${path}: ${reason(error)}`);
  }
  if (info.isDirectory()) throw new LocalFileError(`${path} is a directory (use -r to copy it)`);
  if (!info.isFile()) throw new LocalFileError(`${path} is not a regular file`);
  return { size: info.size, mode: info.mode & 0o7777 };
}

/** The mode a new file gets from `mode` without -p, as cp and scp give it: its permission bits less our umask. */
export function newFileMode(mode: number): number {
  return mode & 0o777 & ~process.umask();
}

/**
 * Uploads a local file to `remote`. Without `preserve` the remote file gets the local
 * one's permission bits less our umask (`mode`, when given, stands for the local mode:
 * a spooled stdin has none of its own).
 */
export async function uploadFile(
  client: RexecClient,
  local: string,
  remote: string,
  settings: CopySettings & { readonly mkdirs: boolean; readonly mode?: number },
): Promise<TransferResult> {
  let handle: FileHandle;
  try {
    handle = await open(local, constants.O_RDONLY);
  } catch (error) {
    throw new LocalFileError(`cannot read ${local}: ${reason(error)}`);
  }
  // A FileHandle's stream holds it open until the stream is destroyed: always destroy it.
  let stream: Readable | undefined;
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new LocalFileError(`${local} is a directory (use -r to copy it)`);
    if (!info.isFile()) throw new LocalFileError(`${local} is not a regular file`);
    const mode = settings.preserve ? info.mode & 0o7777 : newFileMode(settings.mode ?? info.mode);
    stream = handle.createReadStream({ highWaterMark: CHUNK, autoClose: false, start: 0 });
    return await client.put(stream, remote, {
      size: info.size,
      mode,
      // As scp -p: the modification time goes too.
      ...(settings.preserve ? { mtimeMs: info.mtimeMs } : {}),
      overwrite: settings.force,
      mkdirs: settings.mkdirs,
      signal: settings.signal,
      onProgress: settings.onProgress,
    });
  } finally {
    stream?.destroy();
    await handle.close().catch(() => undefined);
  }
}

/**
 * Copies a stream of unknown length (stdin) to a private temporary file, so that its
 * size is known before a put: memory stays bounded whatever its length. `signal` stops
 * the copy (stdin may never end) and removes the file. The caller calls `remove()` when done.
 */
export async function spool(input: Readable, signal?: AbortSignal): Promise<{ path: string; remove: () => Promise<void> }> {
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
    throw new LocalFileError(`cannot read stdin: ${reason(error)}`);
  }
  return { path, remove };
}

/**
 * Downloads `remote` to the local file `local` (through a temporary file and a rename).
 * An existing `local` is refused unless `force`; a directory always is.
 */
export async function downloadFile(
  client: RexecClient,
  remote: string,
  local: string,
  settings: CopySettings,
): Promise<TransferResult> {
  const existing = await lstat(local).catch(() => undefined);
  if (existing?.isDirectory()) throw new LocalFileError(`${local} is a directory`);
  if (existing !== undefined && !settings.force) throw new LocalFileError(`${local} already exists (use -f to overwrite)`);
  const file = await client.get(remote, { signal: settings.signal });
  settings.onSize?.(file.size);
  const temporary = join(dirname(local), `.rexec-${randomBytes(8).toString('hex')}.tmp`);
  // Without -p the new file gets the remote one's permission bits less our umask (open()
  // applies the umask), as cp and scp do: a private file stays private.
  const createMode = settings.preserve ? 0o600 : file.mode & 0o777;
  let handle: FileHandle;
  try {
    handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, createMode);
  } catch (error) {
    file.stream.destroy();
    await file.done.catch(() => undefined);
    throw new LocalFileError(`cannot write in ${dirname(local)}: ${reason(error)}`);
  }
  let placed = false;
  const sink = handle.createWriteStream({ autoClose: false });
  try {
    let writeError: unknown;
    sink.once('error', (error) => (writeError = error));
    try {
      await pipeline(file.stream, counter(settings.onProgress), sink);
    } catch (error) {
      if (writeError !== undefined) throw new LocalFileError(`cannot write ${local}: ${reason(writeError)}`);
      // The stream ends early when the transfer failed: `done` says why.
      await file.done;
      throw new LocalFileError(`cannot write ${local}: ${reason(error)}`);
    }
    const result = await file.done;
    await handle.sync();
    if (settings.preserve) await handle.chmod(file.mode & 0o7777);
    // The stream holds the handle until it is destroyed (which may close it).
    sink.destroy();
    await handle.close().catch(() => undefined);
    if (settings.preserve) await utimes(temporary, file.mtimeMs / 1000, file.mtimeMs / 1000);
    if (settings.force) {
      await rename(temporary, local);
    } else {
      try {
        await link(temporary, local);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new LocalFileError(`${local} already exists (use -f to overwrite)`);
        throw error;
      }
      await unlink(temporary);
    }
    placed = true;
    return result;
  } finally {
    sink.destroy();
    await handle.close().catch(() => undefined);
    if (!placed) await unlink(temporary).catch(() => undefined);
  }
}

/**
 * Downloads `remote` to a stream (stdout); resolves once `done` matched. A write error
 * of `output` is an OutputError, whatever the transfer's end then says (it was aborted
 * because of it).
 */
export async function downloadTo(client: RexecClient, remote: string, output: Writable, settings: CopySettings): Promise<TransferResult> {
  const file = await client.get(remote, { signal: settings.signal });
  settings.onSize?.(file.size);
  let writeError: unknown;
  const onError = (error: unknown): void => {
    writeError ??= error;
  };
  output.on('error', onError);
  try {
    try {
      await pipeline(file.stream, counter(settings.onProgress), output, { end: false });
    } catch (error) {
      if (writeError !== undefined) {
        await file.done.catch(() => undefined);
        throw new OutputError(writeError);
      }
      // The stream ends early when the transfer failed: `done` says why.
      await file.done;
      throw new LocalFileError(`cannot write the output: ${reason(error)}`);
    }
    const result = await file.done;
    if (writeError !== undefined) throw new OutputError(writeError);
    return result;
  } finally {
    output.off('error', onError);
  }
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
    throw new LocalFileError(`cannot create ${path}: ${reason(error)}`);
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

// Counts bytes on their way through, for the progress line.
function counter(onProgress: ((bytes: number) => void) | undefined): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      onProgress?.(bytes);
      callback(null, chunk);
    },
  });
}
