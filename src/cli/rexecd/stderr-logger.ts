// rexecd's log lines on stderr: `rexecd: <level> <message> key=value ...`. One event is
// always one line: control characters in the message and in every value (a user name
// holding "\n" would otherwise start a line of its own) are escaped, and long values are
// cut, whatever the caller passed.
import type { LogFields, ServerLogger } from '../../server/index.js';

/** Log levels, least to most verbose. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Longest value or message written (callers clip client text much shorter). */
const MAX_VALUE_LENGTH = 8192;

/** A logger writing one text line per event to `stream`, up to `level`. */
export function createStderrLogger(level: LogLevel, stream: NodeJS.WritableStream = process.stderr): ServerLogger {
  const rank = LOG_LEVELS.indexOf(level);
  // A log nobody reads any more (EPIPE: `rexecd 2>&1 | head`, a supervisor gone) is
  // given up, not an error of the server's: unhandled, the stream's 'error' was taken
  // for a crash, whose own log line failed the same way, for ever.
  let gone = false;
  stream.on('error', () => {
    gone = true;
  });
  const line =
    (lineLevel: LogLevel) =>
    (fields: LogFields, message: string): void => {
      if (gone || LOG_LEVELS.indexOf(lineLevel) > rank) return;
      const pairs = Object.entries(fields)
        .map(
          ([key, value]) =>
            `${escapeLogText(key)}=${escapeLogText(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)))}`,
        )
        .join(' ');
      stream.write(`rexecd: ${lineLevel} ${escapeLogText(message)}${pairs === '' ? '' : ` ${pairs}`}\n`);
    };
  return { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug') };
}

// C0 controls, DEL, C1 controls, zero-width and direction marks, embeddings and
// isolates (a line that reads backwards), and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control character written as an escape (`\n`, `\u001b`), cut to a bounded length. */
export function escapeLogText(text: string): string {
  const cut = text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH)}…[${text.length} chars]` : text;
  return cut.replace(CONTROL, (char) => NAMED[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
