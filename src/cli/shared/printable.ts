// What a server says (file names, error messages) reaches our user's terminal in our
// own lines. A hostile server, or a student naming a file for the teacher to copy,
// could otherwise send terminal controls through them: a window title, a line rubbed
// out and replaced with "passed", a clipboard write (OSC 52), text that reads
// backwards. So every such line is written with its controls escaped; only a command's
// own output streams go through raw.

// C0 controls but tab and newline, DEL, C1 controls, zero-width and direction marks,
// embeddings and isolates, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g;

/** `text` with every control that a terminal would act on written as an escape (`\u001b`, ...). */
export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `printable`, and a newline escaped too: for one line of ours that quotes a server, so
 * that its words can never add a line of their own ("rexec: all good").
 */
export function printableLine(text: string): string {
  return printable(text).replace(/\n/g, '\\n');
}
