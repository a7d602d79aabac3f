// The server's log sink: structured fields first, message second; client data stays
// under its own key. The CLI decides where lines go (stderr by default).

/** Fields of one log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Where the server reports what happens. */
export interface ServerLogger {
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  debug(fields: LogFields, message: string): void;
}

/** A logger that drops everything (the library default). */
export const silentLogger: ServerLogger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
};
