// The file transfer extension's requests (docs/protocol.md section 9): `put`, `get` and the
// client's `data`. Checked in two passes, as `exec` is: PROTOCOL before BAD_REQUEST.
import { RexecError } from '../errors.js';
import { hasNul } from './exec-requests.js';
import type { FrameHeader } from './frame.js';
import { optionalBoolean, optionalNumber, optionalString, requiredId } from './members.js';

/** `put` (docs/protocol.md section 9): write a file of exactly `size` bytes at `path`. */
export interface PutRequest {
  readonly type: 'put';
  readonly id: number;
  readonly path: string;
  readonly size: number;
  /** Permission bits the file gets exactly (0o644 when absent). */
  readonly mode: number;
  readonly overwrite: boolean;
  readonly mkdirs: boolean;
  /** rexec: the file's modification time (ms since the epoch), as `scp -p` keeps it. */
  readonly mtimeMs?: number;
}

/** `get` (docs/protocol.md section 9): read the file at `path`. */
export interface GetRequest {
  readonly type: 'get';
  readonly id: number;
  readonly path: string;
}

/** `data` from the client (docs/protocol.md section 9): content of an accepted `put`. */
export interface DataRequest {
  readonly type: 'data';
  readonly id: number;
  readonly eof: boolean;
}

/** The mode a `put` without `mode` gives its file (docs/protocol.md section 9). */
export const DEFAULT_FILE_MODE = 0o644;
/** The largest `mode`: permission bits only (with setuid, setgid and sticky). */
export const MAX_FILE_MODE = 0o7777;

/** Validates a `put` header. */
export function parsePut(header: FrameHeader): PutRequest {
  // Pass 1: JSON types (PROTOCOL).
  optionalNumber(header, 'id');
  const path = optionalString(header, 'path');
  const size = optionalNumber(header, 'size');
  const mode = optionalNumber(header, 'mode');
  const overwrite = optionalBoolean(header, 'overwrite') ?? false;
  const mkdirs = optionalBoolean(header, 'mkdirs') ?? false;
  const mtimeMs = optionalNumber(header, 'mtimeMs');
  // Pass 2: values (BAD_REQUEST).
  const id = requiredId(header);
  const bad = (message: string): RexecError => new RexecError('BAD_REQUEST', message, { id });
  const checked = checkPath(path, id);
  if (size === undefined) throw bad('"put" needs a "size"');
  if (!Number.isSafeInteger(size) || size < 0) throw bad(`"size" must be an integer >= 0, not ${size}`);
  if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= MAX_FILE_MODE)) {
    throw bad(
      `"mode" must be permission bits, an integer 0..${MAX_FILE_MODE} (0o${MAX_FILE_MODE.toString(8)}), not ${mode}`,
    );
  }
  // Within the range of a Date: what a file system can hold, and utimes() takes.
  if (mtimeMs !== undefined && !(Number.isFinite(mtimeMs) && Math.abs(mtimeMs) <= 8.64e15)) {
    throw bad(`"mtimeMs" must be a time in milliseconds since the epoch, not ${mtimeMs}`);
  }
  const put: PutRequest = { type: 'put', id, path: checked, size, mode: mode ?? DEFAULT_FILE_MODE, overwrite, mkdirs };
  return mtimeMs === undefined ? put : { ...put, mtimeMs };
}

/** Validates a `get` header. */
export function parseGet(header: FrameHeader): GetRequest {
  optionalNumber(header, 'id');
  const path = optionalString(header, 'path');
  const id = requiredId(header);
  return { type: 'get', id, path: checkPath(path, id) };
}

/** Validates a client's `data` header. */
export function parseData(header: FrameHeader): DataRequest {
  const eof = optionalBoolean(header, 'eof') ?? false;
  return { type: 'data', id: requiredId(header), eof };
}

// A transfer's path: present, not empty, no NUL (the file system could not take it).
function checkPath(path: string | undefined, id: number): string {
  if (path === undefined) throw new RexecError('BAD_REQUEST', 'a file transfer needs a "path"', { id });
  if (path === '') throw new RexecError('BAD_REQUEST', '"path" must not be empty', { id });
  if (hasNul(path)) throw new RexecError('BAD_REQUEST', '"path" must not contain NUL', { id });
  return path;
}
