// Client text on its way into a log line or an audit record. Whatever a client sends (a
// 64 KiB user name, an argv of 16,000 entries) must not make one line long: every
// client-supplied string is clipped here first, and says how long it was.

/** Characters of one client string kept in a log line or audit record. */
export const LOG_TEXT_LENGTH = 200;
/** argv entries kept in a log line or audit record. */
export const LOG_ARGV_ENTRIES = 64;
/** Characters of all kept argv entries together. */
export const LOG_ARGV_CHARS = 4096;
/** Characters of a server message kept (messages may quote client text). */
export const LOG_MESSAGE_LENGTH = 500;

/**
 * `text` when it is short; else its first LOG_TEXT_LENGTH characters followed by
 * `…[N chars]`, N being its whole length (in UTF-16 code units, as JavaScript counts).
 */
export function clipText(text: string, length = LOG_TEXT_LENGTH): string {
  if (text.length <= length) return text;
  return `${head(text, length)}…[${text.length} chars]`;
}

/** `clipText` for a value that may be absent. */
export function clipOptional(text: string | null | undefined): string | null {
  return text === undefined || text === null ? null : clipText(text);
}

/**
 * A server message that may quote client text (`"<name>" is not an allowed command
 * (rule: allow)`): its head and its tail are kept, so the rule at the end survives.
 */
export function clipMessage(text: string, length = LOG_MESSAGE_LENGTH): string {
  if (text.length <= length) return text;
  const tail = Math.floor(length / 3);
  return `${head(text, length - tail)}…[${text.length} chars]…${text.slice(text.length - tail)}`;
}

/** An argv as logged: at most LOG_ARGV_ENTRIES entries, each clipped; `argc` when some were left out. */
export function clipArgv(argv: readonly string[]): { argv: string[]; argc?: number } {
  const kept: string[] = [];
  let chars = 0;
  for (const entry of argv) {
    if (kept.length >= LOG_ARGV_ENTRIES || chars >= LOG_ARGV_CHARS) break;
    const clipped = clipText(entry);
    kept.push(clipped);
    chars += clipped.length;
  }
  return kept.length === argv.length ? { argv: kept } : { argv: kept, argc: argv.length };
}

/** What an exec request asked for, as logged: argv or shell text, and cwd, all clipped. */
export interface RequestSummary {
  readonly argv?: readonly string[];
  /** The length of argv when entries were left out. */
  readonly argc?: number;
  readonly command?: string;
  readonly cwd?: string;
}

/**
 * The summary of a request header, valid or not (a refused request may hold anything):
 * only string argv entries, command and cwd are taken, each clipped.
 */
export function summarizeRequest(header: object): RequestSummary {
  const { argv, command, cwd } = header as {
    readonly argv?: unknown;
    readonly command?: unknown;
    readonly cwd?: unknown;
  };
  return {
    ...(Array.isArray(argv)
      ? clipArgv(argv.map((entry) => (typeof entry === 'string' ? entry : (JSON.stringify(entry) ?? ''))))
      : {}),
    ...(typeof command === 'string' ? { command: clipText(command) } : {}),
    ...(typeof cwd === 'string' ? { cwd: clipText(cwd) } : {}),
  };
}

// The first `length` characters, without splitting a surrogate pair.
function head(text: string, length: number): string {
  const code = text.charCodeAt(length - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? length - 1 : length);
}
