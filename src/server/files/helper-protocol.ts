// What rexecd and the file helper say to each other. rexecd starts the helper with one
// job (JSON, its last argument); the helper answers with JSON lines on fd 3, while the
// file's bytes go through its stdin (put) or its stdout (get).
import type { PutJob } from './local-files.js';
import type { FileScope } from './target.js';

/** The helper's one task. */
export type HelperJob =
  | { readonly op: 'put'; readonly scope: FileScope; readonly job: PutJob }
  | { readonly op: 'get'; readonly scope: FileScope; readonly id: number; readonly path: string };

/** A line from the helper. */
export type HelperMessage =
  | { readonly ready: { readonly path: string } }
  | {
      readonly file: {
        readonly path: string;
        readonly size: number;
        readonly mode: number;
        readonly mtimeMs: number;
        readonly identity: string;
      };
    }
  | { readonly done: { readonly bytes: number } }
  | { readonly error: { readonly code: string; readonly message: string } };

/** The helper's control channel: fd 3, beside stdin, stdout and stderr. */
export const CONTROL_FD = 3;

// Longest path or error message taken from a helper (PATH_MAX, and a path quoted in a message).
const MAX_TEXT = 8192;

/**
 * Reads a parsed control line as a HelperMessage; undefined when it is not exactly one
 * of them, with every field of its type and range. The helper runs as the lab account:
 * another process of that account can write this line (pidfd_getfd), so nothing in it is
 * trusted to have the shape the helper would give it.
 */
export function helperMessage(value: unknown): HelperMessage | undefined {
  if (!isRecord(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const body = value[keys[0] as string];
  if (!isRecord(body)) return undefined;
  switch (keys[0]) {
    case 'ready':
      return isText(body['path']) ? { ready: { path: body['path'] } } : undefined;
    case 'file': {
      const { path, size, mode, mtimeMs, identity } = body;
      if (!isText(path) || !isCount(size) || !isText(identity)) return undefined;
      if (!Number.isInteger(mode) || (mode as number) < 0 || (mode as number) > 0o7777) return undefined;
      // Number.isFinite is false for anything but a finite number.
      if (!Number.isFinite(mtimeMs)) return undefined;
      return { file: { path, size, mode: mode as number, mtimeMs: mtimeMs as number, identity } };
    }
    case 'done':
      return isCount(body['bytes']) ? { done: { bytes: body['bytes'] } } : undefined;
    case 'error': {
      const { code, message } = body;
      return isText(code) && isText(message) ? { error: { code, message } } : undefined;
    }
  }
  return undefined;
}

// An array passes too: its keys ('0', ...) are no message's, and it has none of their fields.
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_TEXT;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
