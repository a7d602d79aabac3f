// rexecd's log lines on stderr: `rexecd: <level> <message> key=value ...`.
import type { LogFields, ServerLogger } from '../server/index.js';

/** Log levels, least to most verbose. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A logger writing one text line per event to `stream`, up to `level`. */
export function createStderrLogger(level: LogLevel, stream: NodeJS.WritableStream = process.stderr): ServerLogger {
  const rank = LOG_LEVELS.indexOf(level);
  const line = (lineLevel: LogLevel) => (fields: LogFields, message: string): void => {
    if (LOG_LEVELS.indexOf(lineLevel) > rank) return;
    const pairs = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    stream.write(`rexecd: ${lineLevel} ${message}${pairs === '' ? '' : ` ${pairs}`}\n`);
  };
  return { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug') };
}
