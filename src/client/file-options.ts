// What a caller may ask of a file transfer, checked before anything is sent, and the
// `put` / `get` headers they become (docs/protocol.md section 9).
import type { Readable } from 'node:stream';
import { RexecError } from '../errors.js';

/** What a put reads from: bytes in memory, or a stream of exactly `size` bytes. */
export type PutSource = Buffer | Uint8Array | string | Readable;

/** Options of `client.put()`. */
export interface PutOptions {
  /** Exact byte count; required for a stream, checked against a buffer's length. */
  readonly size?: number;
  /** Permission bits the remote file gets exactly (the server's default, 0o644, when absent). */
  readonly mode?: number;
  /** Replace an existing file (never a directory or a symlink). Default false: EXISTS. */
  readonly overwrite?: boolean;
  /** Create missing parent directories. Default false: NOT_FOUND. */
  readonly mkdirs?: boolean;
  /** Aborts the transfer: the server removes what it wrote; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called as bytes are sent, with the total so far. */
  readonly onProgress?: (bytes: number) => void;
  /**
   * The file's modification time (ms since the epoch), as `scp -p` keeps it; its access
   * time becomes the time of the put. A server that does not know this member ignores it.
   */
  readonly mtimeMs?: number;
  /** Send at once even past the server's limit of running requests (its BUSY rejects the put). */
  readonly failFast?: boolean;
}

/** Options of `client.get()`. */
export interface GetOptions {
  /** Aborts the transfer: the stream is destroyed and `done` rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Send at once even past the server's limit of running requests (its BUSY rejects the get). */
  readonly failFast?: boolean;
}

/** How a transfer ended, checked against the server's `done`. */
export interface TransferResult {
  /** Bytes transferred. */
  readonly bytes: number;
  /** Lowercase hex SHA-256 of the content (the same on both sides). */
  readonly sha256: string;
}

/** The `put` header; throws BAD_REQUEST naming a bad option. */
export function putHeader(id: number, path: string, size: number, options: PutOptions): Record<string, unknown> {
  checkPath(path);
  if (!Number.isSafeInteger(size) || size < 0) throw bad(`option "size" must be an integer >= 0, not ${String(size)}`);
  const { mode, overwrite, mkdirs, mtimeMs } = options;
  if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= 0o7777)) {
    throw bad(`option "mode" must be permission bits (0 ... 0o7777), not ${String(mode)}`);
  }
  if (mtimeMs !== undefined && !isFileTime(mtimeMs)) {
    throw bad(`option "mtimeMs" must be a time in milliseconds since the epoch, not ${String(mtimeMs)}`);
  }
  return {
    type: 'put',
    id,
    path,
    size,
    ...(mode === undefined ? {} : { mode }),
    ...(overwrite === true ? { overwrite: true } : {}),
    ...(mkdirs === true ? { mkdirs: true } : {}),
    ...(mtimeMs === undefined ? {} : { mtimeMs }),
  };
}

/** The `get` header; throws BAD_REQUEST for a bad path. */
export function getHeader(id: number, path: string): Record<string, unknown> {
  checkPath(path);
  return { type: 'get', id, path };
}

/** The byte count of a put: a buffer's length, or the `size` option for a stream. */
export function sourceSize(source: PutSource, options: PutOptions): number {
  if (typeof source === 'string' || source instanceof Uint8Array) {
    const length = typeof source === 'string' ? Buffer.byteLength(source) : source.length;
    if (options.size !== undefined && options.size !== length) {
      throw bad(`option "size" is ${options.size} but the content has ${length} bytes`);
    }
    return length;
  }
  if (options.size === undefined) throw bad('a put from a stream needs the option "size" (its exact byte count)');
  return options.size;
}

/** A modification time a put may ask for: a finite number of ms within the range of a JavaScript Date. */
export function isFileTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= 8.64e15;
}

function checkPath(path: unknown): void {
  if (typeof path !== 'string' || path === '')
    throw bad(`the remote path must be a non-empty string, not ${JSON.stringify(path)}`);
  if (path.includes('\0')) throw bad('the remote path must not contain NUL');
}

function bad(message: string): RexecError {
  return new RexecError('BAD_REQUEST', message);
}
