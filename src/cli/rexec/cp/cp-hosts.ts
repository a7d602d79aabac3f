// `rexec cp` to several hosts at once (-H a,b,c or a group, as pdcp does): the same
// upload on each host, at most --parallel at a time over the fan-out's pool, each host
// with its own connection and its failures prefixed with its name; Ctrl-C stops every
// copy (a second one gives up). The status follows the fan-out's rules: 0 when every
// host copied everything, else the highest status of any host (1: some files failed,
// 255: a host unreachable or lost, 128+n: interrupted).
import type { RexecClient } from '../../../client/index.js';
import type { ConnectionSettings } from '../connection-options.js';
import { openClient } from '../open-client.js';
import { planCopy } from './cp-args.js';
import { Copy } from './copy.js';
import type { CpFlags } from './copy.js';
import { showSummary } from './cp-command.js';
import { STATUS_FAILURE, statusOfError, statusOfSignal } from '../../shared/exit-status.js';
import { failureCode, failureMessage } from '../failure-message.js';
import { DEFAULT_PARALLEL } from '../run/run-program.js';
import { hostAddress } from '../fanout/host-run.js';
import type { HostResult } from '../fanout/host-run.js';
import { runPool } from '../fanout/pool.js';
import { ProgressLine } from '../fanout/progress-line.js';
import { overallStatus, summaryLines } from '../fanout/summary.js';
import { printError } from '../../shared/io.js';
import type { CliIo } from '../../shared/io.js';
import { catchSignals } from '../signals.js';
import { printable } from '../../shared/printable.js';

/** Copies to every target; resolves with the exit status. */
export async function cpHostsCommand(
  operands: readonly string[],
  flags: CpFlags,
  targets: readonly ConnectionSettings[],
  io: CliIo,
): Promise<number> {
  // Bad operands are a CliError (USAGE): main() prints it.
  const plan = planCopy(operands, flags.recursive === true);
  if (plan.direction === 'download') {
    printError(io, 'cp copies to several hosts, not from them: download from one host at a time (-H NAME)');
    return STATUS_FAILURE;
  }
  if (plan.sources.includes('-')) {
    printError(io, '"-" (stdin) cannot be copied to several hosts: write it to a file first');
    return STATUS_FAILURE;
  }
  const progress = new ProgressLine(io.stderr, targets.length);
  const drawProgress = flags.quiet !== true;
  const say = (label: string, message: string): void => {
    if (drawProgress) progress.hide();
    io.stderr.write(`rexec: ${printable(`${label}: ${message}`)}\n`);
  };
  const running = new Map<Copy, RexecClient>();
  let stop: { status: number; giveUp: boolean } | undefined;
  // The first signal stops every copy (the current files are aborted) and starts no new
  // host; a second one closes every connection (the servers remove what they wrote).
  const stopSignals = catchSignals(io, (signal) => {
    const status = statusOfSignal(signal);
    if (stop === undefined) {
      stop = { status, giveUp: false };
      for (const copy of running.keys()) copy.interrupt(signal);
    } else {
      stop = { status, giveUp: true };
      for (const client of running.values()) void client.close();
    }
  });
  const counts = { done: 0, failed: 0, running: 0 };
  const summaries: string[] = [];
  if (drawProgress) progress.update(counts);
  let results: HostResult[];
  try {
    results = await runPool(
      targets,
      flags.parallel ?? DEFAULT_PARALLEL,
      async (settings) => {
        counts.running++;
        if (drawProgress) progress.update(counts);
        const result = await copyTo(settings, plan, flags, io, say, running, summaries);
        counts.running--;
        counts.done++;
        if (result.status !== 0) counts.failed++;
        if (drawProgress) progress.update(counts);
        return result;
      },
      () => stop !== undefined,
      (settings) => ({ ...identify(settings), status: stop?.status ?? STATUS_FAILURE, reached: true, skipped: true }),
    );
  } finally {
    stopSignals();
    progress.stop();
  }
  if (showSummary(flags, io)) io.stderr.write(`${[...summaries, ...summaryLines(results)].join('\n')}\n`);
  return stop?.giveUp === true ? stop.status : overallStatus(results);
}

// One host: connect, copy, and say how it went.
async function copyTo(
  settings: ConnectionSettings,
  plan: ReturnType<typeof planCopy>,
  flags: CpFlags,
  io: CliIo,
  say: (label: string, message: string) => void,
  running: Map<Copy, RexecClient>,
  summaries: string[],
): Promise<HostResult> {
  const { label, address } = identify(settings);
  let client: RexecClient;
  try {
    client = await openClient(settings, (line) => say(label, line));
  } catch (error) {
    const message = failureMessage(error, settings, { connecting: true });
    say(label, message);
    return {
      label,
      address,
      status: statusOfError(error),
      reached: false,
      error: { code: failureCode(error), message },
    };
  }
  const copy = new Copy(client, flags, settings, io, { report: (message) => say(label, message), progress: false });
  running.set(copy, client);
  try {
    const status = await copy.run(plan);
    const summary = copy.summary();
    if (summary !== undefined) summaries.push(`rexec: ${label}: ${summary}`);
    const code = copy.failureCode;
    return { label, address, status, reached: true, ...(code === undefined ? {} : { error: { code, message: '' } }) };
  } finally {
    running.delete(copy);
    await client.close();
  }
}

function identify(settings: ConnectionSettings): { label: string; address: string } {
  return { label: settings.label ?? `${settings.host}:${settings.port}`, address: hostAddress(settings) };
}
