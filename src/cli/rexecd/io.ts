// The outside world of the `rexecd` program, passed in so that tests can run it
// in-process: its two output streams, and where the signals that drain it and the
// process's uncaught errors come from.
import type { Writable } from 'node:stream';

/** What rexecd listens for while it serves. */
export type RexecdEvent = 'SIGTERM' | 'SIGINT' | 'uncaughtException' | 'unhandledRejection';

/** `process`, or a test's emitter. */
export interface RexecdEvents {
  on(event: RexecdEvent, listener: (...args: unknown[]) => void): unknown;
  off(event: RexecdEvent, listener: (...args: unknown[]) => void): unknown;
}

/** The program's streams and events. */
export interface RexecdIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly events: RexecdEvents;
}

/** The real process's streams and events. */
export function processRexecdIo(): RexecdIo {
  return { stdout: process.stdout, stderr: process.stderr, events: process };
}

/** Writes one `rexecd: ...` line to stderr. */
export function printRexecdError(io: RexecdIo, message: string): void {
  io.stderr.write(`rexecd: ${message}\n`);
}
