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

/** Longest control line rexecd accepts from a helper. */
export const MAX_CONTROL_LINE = 64 * 1024;
