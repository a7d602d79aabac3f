// Copying between a remote command's streams and the program's own, at the pace the
// slower side accepts: pipe() pauses the source while the destination is full, so a
// slow local reader slows the remote process (and a slow remote one, local stdin).
import type { Readable, Writable } from 'node:stream';
import type { RemoteProcess } from '../../client/index.js';
import type { CliIo } from '../shared/io.js';

/**
 * Copies the command's stdout and stderr to ours. If one of ours fails (a closed pipe:
 * `rexec run ... | head -1`), both copies stop, the command's streams are destroyed
 * (their output has nowhere to go) and `onBroken` is called once. Returns a function
 * that stops copying.
 */
export function forwardOutput(remote: RemoteProcess, io: CliIo, onBroken: (error: Error) => void): () => void {
  let broken = false;
  const onError = (error: Error): void => {
    if (broken) return;
    broken = true;
    for (const [source] of pairs) source.destroy();
    onBroken(error);
  };
  const pairs: Array<[Readable, Writable]> = [
    [remote.stdout, io.stdout],
    [remote.stderr, io.stderr],
  ];
  for (const [source, destination] of pairs) {
    destination.on('error', onError);
    source.pipe(destination, { end: false });
  }
  return () => {
    for (const [source, destination] of pairs) {
      source.unpipe(destination);
      destination.off('error', onError);
    }
  };
}

/**
 * Copies our stdin to the command's, ending it (eof) when ours ends. Returns a function
 * that stops reading ours (and releases it, so that the program can exit).
 */
export function forwardInput(input: Readable, stdin: Writable): () => void {
  // An input that fails to read ends like one that reached its end.
  const onError = (): void => {
    stdin.end();
  };
  input.on('error', onError);
  input.pipe(stdin);
  return () => {
    input.unpipe(stdin);
    input.destroy();
    input.off('error', onError);
  };
}
