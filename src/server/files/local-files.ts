// File transfers done on the local file system by the process that calls these: rexecd
// itself when a policy asks for no other identity, or the file helper that runs under
// the policy's runAs and sandbox. A put writes a temporary file beside its target and
// puts it in place only once every byte has arrived and is on disk (docs/protocol.md section 9).
import { randomBytes } from 'node:crypto';
import { constants, createReadStream, unlinkSync } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { RexecError } from '../../errors.js';
import type { PutRequest } from '../../protocol/messages.js';
import { identity } from './link-owners.js';
import { ioError, resolveGetSource, resolvePutTarget } from './target.js';
import type { FileScope } from './target.js';

/** What a put asks for, once validated. */
export type PutJob = Omit<PutRequest, 'type'>;

/** An accepted put: write its bytes to `sink`, then `commit()`; or `abort()`. */
export interface OpenedPut {
  /** The real path the file will have. */
  readonly path: string;
  /** Takes the file's content; `write()` returning false means wait for 'drain'. */
  readonly sink: Writable;
  /** Settles with the error when writing fails before commit() (disk full, helper gone). */
  readonly failed: Promise<RexecError>;
  /** Every byte was written: make the file durable and put it in place. */
  commit(): Promise<void>;
  /** Gives up: nothing is left behind (the temporary file is removed). Idempotent. */
  abort(): void;
}

/** An accepted get: its metadata, and exactly `size` bytes of content. */
export interface OpenedGet {
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly mtimeMs: number;
  /** Device and inode of the opened file (link-owners.ts `identity`). */
  readonly identity: string;
  /** The content: exactly `size` bytes, fewer only if the file shrank while it was read. */
  readonly content: Readable;
  /** Settles after the content has ended: rejects if reading failed. */
  readonly finished: Promise<void>;
  /** Stops reading (an abort). Idempotent. */
  close(): void;
}

/** Reads and writes of at most this many bytes at once (one frame body). */
export const FILE_CHUNK = 1024 * 1024;

/** Checks a put and creates its temporary file. Throws the request's RexecError. */
export async function openLocalPut(scope: FileScope, job: PutJob): Promise<OpenedPut> {
  const { id } = job;
  const target = await resolvePutTarget(scope, job.path, id, job);
  // Beside the target (same file system, so the rename is atomic), hidden, unique.
  const temporary = join(target.dir, `.rexec-${randomBytes(8).toString('hex')}.tmp`);
  let handle: FileHandle;
  try {
    handle = await open(
      temporary,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (error) {
    throw ioError(job.path, error, id);
  }
  let state: 'writing' | 'committing' | 'done' | 'aborted' = 'writing';
  const sink = new FileSink(handle);
  const removeTemporary = (): void => {
    try {
      unlinkSync(temporary);
    } catch {
      // Already gone (renamed into place, or removed).
    }
  };
  const failed = new Promise<RexecError>((resolve) =>
    sink.once('error', (error) => resolve(ioError(job.path, error, id))),
  );
  return {
    path: target.path,
    sink,
    failed,
    async commit() {
      if (state !== 'writing') throw new RexecError('BAD_REQUEST', 'the put is not open', { id });
      state = 'committing';
      try {
        await new Promise<void>((resolve, reject) => {
          sink.once('error', reject);
          sink.end(() => resolve());
        });
        await handle.sync();
        // fchmod: the exact mode, whatever the umask (also on an overwrite).
        await handle.chmod(job.mode);
        // futimes: the modification time asked for (scp -p); accessed now.
        if (job.mtimeMs !== undefined) await handle.utimes(new Date(), new Date(job.mtimeMs));
        await handle.close();
        // An abort that came while the bytes were flushed still wins; after the rename
        // it is too late (the file is in place, and that is not undone).
        if (state !== 'committing') throw new RexecError('BAD_REQUEST', 'the put was aborted', { id });
        if (job.overwrite) {
          await rename(temporary, target.path);
        } else {
          // link() refuses to replace anything: a file that appeared since the check
          // is EXISTS, never overwritten.
          await linkNoClobber(temporary, target.path, job.path, id);
        }
        await syncDirectory(target.dir);
        state = 'done';
      } catch (error) {
        if (state === 'committing') state = 'aborted';
        await handle.close().catch(() => undefined);
        removeTemporary();
        throw ioError(job.path, error, id);
      }
    },
    abort() {
      if (state === 'done' || state === 'aborted') return;
      const writing = state === 'writing';
      state = 'aborted';
      if (!writing) return; // commit() sees the state and cleans up itself
      sink.destroy();
      removeTemporary();
      void handle.close().catch(() => undefined);
    },
  };
}

/** Checks a get and opens its file. Throws the request's RexecError. */
export async function openLocalGet(scope: FileScope, id: number, path: string): Promise<OpenedGet> {
  const source = await resolveGetSource(scope, path, id);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO swapped in after the check must not block the open.
    handle = await open(source.path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    throw ioError(path, error, id);
  }
  const info = await handle.stat().catch(async (error: unknown) => {
    await handle.close();
    throw ioError(path, error, id);
  });
  if (!info.isFile()) {
    await handle.close();
    throw new RexecError('BAD_REQUEST', `${JSON.stringify(path)} is not a regular file`, { id });
  }
  // Exact device and inode numbers (bigint): what rexecd compares with the file it checked.
  const opened = await handle.stat({ bigint: true }).catch(async (error: unknown) => {
    await handle.close();
    throw ioError(path, error, id);
  });
  const size = info.size;
  const content =
    size === 0
      ? Readable.from([], { objectMode: false })
      : createReadStream('', { fd: handle, start: 0, end: size - 1, highWaterMark: FILE_CHUNK, autoClose: true });
  const finished = new Promise<void>((resolve, reject) => {
    content.once('end', resolve);
    content.once('error', (error: Error) => reject(ioError(path, error, id)));
    content.once('close', resolve);
  });
  finished.catch(() => undefined);
  if (size === 0) void handle.close();
  return {
    path: source.path,
    size,
    mode: info.mode & 0o7777,
    mtimeMs: info.mtimeMs,
    identity: identity(opened),
    content,
    finished,
    close() {
      content.destroy();
    },
  };
}

async function linkNoClobber(temporary: string, target: string, shown: string, id: number): Promise<void> {
  try {
    await link(temporary, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new RexecError('EXISTS', `${JSON.stringify(shown)} already exists (put with overwrite to replace a file)`, {
        id,
      });
    throw error;
  }
  await unlink(temporary);
}

// The rename is durable only once the directory entry is on disk too.
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A Writable over an open file: every chunk written in full, in order (writev batches). */
class FileSink extends Writable {
  readonly #handle: FileHandle;

  constructor(handle: FileHandle) {
    super({ highWaterMark: FILE_CHUNK });
    this.#handle = handle;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    writeAll(this.#handle, [chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    writeAll(
      this.#handle,
      chunks.map((c) => c.chunk),
    ).then(() => callback(), callback);
  }
}

async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers.filter((buffer) => buffer.length > 0);
  while (pending.length > 0) {
    let { bytesWritten } = await handle.writev(pending);
    const rest: Buffer[] = [];
    for (const buffer of pending) {
      if (bytesWritten >= buffer.length) {
        bytesWritten -= buffer.length;
      } else {
        rest.push(bytesWritten === 0 ? buffer : buffer.subarray(bytesWritten));
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}
