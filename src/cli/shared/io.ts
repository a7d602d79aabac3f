// The outside world of the `rexec` program, passed in so that tests can run it in-process.
import type { Readable, Writable } from 'node:stream';
import { printable } from './printable.js';

/** Signals the program forwards to the remote command. */
export type ForwardedSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** Where signals come from: `process`, or a test's emitter. */
export interface SignalSource {
  on(signal: ForwardedSignal, listener: () => void): unknown;
  off(signal: ForwardedSignal, listener: () => void): unknown;
}

/** The program's streams and signals. */
export interface CliIo {
  readonly stdin: Readable & { readonly isTTY?: boolean };
  readonly stdout: Writable & { readonly isTTY?: boolean };
  readonly stderr: Writable;
  readonly signals: SignalSource;
}

/** The real process's streams and signals. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signals: process };
}

/** Writes one `rexec: ...` line to stderr; terminal controls a server put in it are escaped. */
export function printError(io: CliIo, message: string): void {
  io.stderr.write(`rexec: ${printable(message)}\n`);
}
