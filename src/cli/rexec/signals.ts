// Local signals the program catches while a remote command runs, to forward them to it.
import type { CliIo, ForwardedSignal } from '../shared/io.js';

/** The signals rexec forwards: Ctrl-C, a polite kill, and a closed terminal. */
export const FORWARDED_SIGNALS: readonly ForwardedSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Calls `handler` for each forwarded signal until the returned function is called. */
export function catchSignals(io: CliIo, handler: (signal: ForwardedSignal) => void): () => void {
  const listeners = FORWARDED_SIGNALS.map((signal) => {
    const listener = (): void => handler(signal);
    io.signals.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) io.signals.off(signal, listener);
  };
}
