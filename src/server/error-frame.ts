// The `error` frame of a RexecError (docs/protocol.md section 8). Messages may quote what a
// client sent (a path, a name, a frame type): they are cut, so that an error frame
// always fits in a header.
import type { RexecError } from '../errors.js';
import type { ErrorMessage } from '../protocol/server-messages.js';

/** Longest error message sent, in characters (well under the header limit in bytes). */
export const MAX_ERROR_MESSAGE = 4096;
/** Characters of client text quoted in a message of the connection's own. */
export const QUOTED_LENGTH = 200;

/** The frame that reports `error`, with its id when it concerns a request. */
export function errorFrame(error: RexecError): ErrorMessage {
  const message = clip(error.message, MAX_ERROR_MESSAGE);
  return error.id === undefined
    ? { type: 'error', code: error.code, message }
    : { type: 'error', code: error.code, message, id: error.id };
}

/** `text` cut to `length` characters, marked with "..." when it was cut. */
export function clip(text: string, length = QUOTED_LENGTH): string {
  return text.length > length ? `${text.slice(0, length)}...` : text;
}
