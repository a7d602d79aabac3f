// The `rexec` program's streams for in-process runs of main(): what it printed, and a
// signal emitter to send it Ctrl-C.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/shared/io.js';

export interface CapturedIo {
  readonly io: CliIo;
  readonly signals: EventEmitter;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves once stdout or stderr (as named) contains `text`. */
  shows(stream: 'stdout' | 'stderr', text: string): Promise<void>;
}

/** Streams that keep everything; `stderrTTY` makes stderr look like a terminal. */
export function captureIo(options: { readonly stderrTTY?: boolean } = {}): CapturedIo {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), options.stderrTTY ? { isTTY: true, columns: 200 } : {});
  stdout.on('data', (chunk: Buffer) => {
    out.push(chunk);
    wake();
  });
  stderr.on('data', (chunk: Buffer) => {
    err.push(chunk);
    wake();
  });
  const signals = new EventEmitter();
  const text = (stream: 'stdout' | 'stderr'): string => Buffer.concat(stream === 'stdout' ? out : err).toString();
  return {
    io: { stdin: new PassThrough(), stdout, stderr, signals },
    signals,
    stdout: () => text('stdout'),
    stderr: () => text('stderr'),
    shows: (stream, wanted) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (text(stream).includes(wanted)) resolve();
          else waiters.push(check);
        };
        check();
      }),
  };
}
