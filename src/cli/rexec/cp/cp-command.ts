// `rexec cp`: files to the server (`rexec cp LOCAL... :REMOTE`) or from it (`rexec cp
// :REMOTE... LOCAL`), one at a time over one connection, each checked with its sha256.
// A file that fails is reported and the others still copy (status 1); a connection or
// authentication failure stops everything (status 255).
import type { RexecClient } from '../../../client/index.js';
import { STATUS_FAILURE, statusOfSignal } from '../../shared/exit-status.js';
import { printError } from '../../shared/io.js';
import type { CliIo } from '../../shared/io.js';
import type { ConnectionSettings } from '../connection-options.js';
import { openClient } from '../open-client.js';
import { failureMessage } from '../failure-message.js';
import { catchSignals } from '../signals.js';
import { planCopy } from './cp-args.js';
import { Copy } from './copy.js';
import type { CpFlags } from './copy.js';

/** Whether the summary is printed: on a terminal (not with -q), as scp does, or with -v. */
export function showSummary(flags: CpFlags, io: CliIo): boolean {
  return flags.verbose === true || (flags.quiet !== true && (io.stderr as { isTTY?: boolean }).isTTY === true);
}

/** Copies; resolves with the exit status. */
export async function cpCommand(
  operands: readonly string[],
  flags: CpFlags,
  settings: ConnectionSettings,
  io: CliIo,
): Promise<number> {
  // Bad operands are a CliError (USAGE): main() prints it.
  const plan = planCopy(operands, flags.recursive === true);
  let client: RexecClient;
  try {
    client = await openClient(settings, (line) => printError(io, line));
  } catch (error) {
    printError(io, failureMessage(error, settings, { connecting: true }));
    return STATUS_FAILURE;
  }
  const copy = new Copy(client, flags, settings, io);
  // The first signal aborts the current file and stops the copy; a second one gives up
  // at once, whatever is still being cleaned up (the server removes what it wrote).
  let signals = 0;
  let giveUp!: (status: number) => void;
  const givenUp = new Promise<number>((resolve) => (giveUp = resolve));
  const stopSignals = catchSignals(io, (signal) => {
    signals += 1;
    if (signals === 1) copy.interrupt(signal);
    else giveUp(statusOfSignal(signal));
  });
  let gaveUp = false;
  try {
    const status = await Promise.race([
      copy.run(plan),
      givenUp.then((status) => {
        gaveUp = true;
        return status;
      }),
    ]);
    const summary = gaveUp ? undefined : copy.summary();
    if (summary !== undefined && showSummary(flags, io)) io.stderr.write(`${summary}\n`);
    return status;
  } finally {
    stopSignals();
    if (gaveUp) {
      // Nothing may keep the program alive: not stdin, not a server slow to close.
      io.stdin.destroy();
      void client.close();
    } else {
      await client.close();
    }
  }
}
