// `rexec run` on several hosts at once (pdsh style): at most --parallel hosts at a time,
// each with its own connect deadline; output as whole lines prefixed `host: ` (or
// grouped per host with --group, identical ones once with --collapse, or one JSON
// object per host with --json); Ctrl-C
// forwarded to every running command (a second one gives up); a progress line on a
// terminal; a summary on stderr; the highest status of any host as ours.
import type { ConnectionSettings } from '../connection-options.js';
import { STATUS_FAILURE, statusOfSignal } from '../../shared/exit-status.js';
import { printError } from '../../shared/io.js';
import type { CliIo, ForwardedSignal } from '../../shared/io.js';
import { JSON_OUTPUT_LIMIT, jsonReport } from '../run/json-output.js';
import { outputFailure } from '../../shared/output-failure.js';
import { DEFAULT_PARALLEL } from '../run/run-program.js';
import type { FanOutFlags } from '../run/run-program.js';
import { catchSignals } from '../signals.js';
import { OutputBudget } from '../../../client/index.js';
import { heldBytes, HostRun, withoutOutput } from './host-run.js';
import type { HostResult, HostRunContext } from './host-run.js';
import { OutputGroups } from './collapse.js';
import { OutputMux } from './output-mux.js';
import { runPool } from './pool.js';
import { ProgressLine } from './progress-line.js';
import { overallStatus, summaryLines } from './summary.js';
// Loaded on demand: see core.ts for why this import is here.
import '../core.js';

/** Runs `args` on every target; resolves with the program's exit status. */
export async function fanOutCommand(
  args: readonly string[],
  flags: FanOutFlags,
  targets: readonly ConnectionSettings[],
  io: CliIo,
): Promise<number> {
  if (flags.stdin) {
    printError(io, '-i cannot be used with several hosts (each would need its own copy of stdin): leave it out');
    return STATUS_FAILURE;
  }
  if (flags.tty) {
    printError(io, '-t cannot be used with several hosts (one terminal cannot drive several programs): leave it out');
    return STATUS_FAILURE;
  }
  if (flags.collapse && flags.json) {
    printError(io, '--collapse groups the blocks of --group: it cannot be used with --json');
    return STATUS_FAILURE;
  }
  const group = flags.group === true || flags.collapse === true;
  const order = new Map(targets.map((target, index) => [target.label ?? `${target.host}:${target.port}`, index]));
  const collapsed = flags.collapse ? new OutputGroups((label) => order.get(label) ?? 0) : undefined;
  const progress = new ProgressLine(io.stderr, targets.length);
  const runs = new Set<HostRun>();
  // Set once nothing new may start: the status of hosts left out, and ours if we gave up.
  let stop: { skipStatus: number; giveUp?: number } | undefined;
  const abortAll = (status: number, message: string): void => {
    for (const run of runs) run.abort(status, message);
  };
  // Our output failed: every host is given up on. A closed pipe (`| head`) is 141 and
  // quiet but for the summary; any other write error is said once, and is status 1.
  const mux = new OutputMux(io, progress, (name, error) => {
    const failure = outputFailure(error);
    stop = { skipStatus: failure.status, giveUp: failure.status };
    if (failure.message !== undefined && name !== 'stderr') printError(io, failure.message);
    const why = failure.message === undefined ? 'our output was closed' : 'our output failed';
    abortAll(failure.status, `${why}: connection closed, the server ends the command`);
  });
  const budget = new OutputBudget(JSON_OUTPUT_LIMIT);
  const context: HostRunContext = {
    args,
    flags,
    mux,
    prefix: flags.prefix !== false,
    collect: group || flags.json === true,
    budget,
  };
  // The first signal goes to every running command and stops new hosts from starting;
  // a second one closes every connection (the servers then end the commands).
  let signalled: ForwardedSignal | undefined;
  const stopSignals = catchSignals(io, (signal) => {
    if (signalled === undefined) {
      signalled = signal;
      stop ??= { skipStatus: statusOfSignal(signal) };
      for (const run of runs) run.signal(signal);
    } else {
      stop = { skipStatus: statusOfSignal(signal), giveUp: statusOfSignal(signal) };
      abortAll(statusOfSignal(signal), 'interrupted: connection closed, the server ends the command');
    }
  });
  const counts = { done: 0, failed: 0, running: 0 };
  progress.update(counts);
  let results: HostResult[];
  try {
    results = await runPool(
      targets,
      flags.parallel ?? DEFAULT_PARALLEL,
      async (settings) => {
        const run = new HostRun(settings, context);
        runs.add(run);
        counts.running++;
        progress.update(counts);
        const result = await run.run();
        runs.delete(run);
        counts.running--;
        counts.done++;
        if (result.status !== 0) counts.failed++;
        // The output is reported now and goes back to the budget once written: only what
        // the summary needs is kept, so the budget bounds what all hosts hold together.
        const held = heldBytes(result);
        if (collapsed !== undefined) {
          // Kept to the end unless another host gave the same (then that copy is let go).
          if (!collapsed.add(result.label, result.stdout ?? EMPTY, result.stderr ?? EMPTY)) budget.give(held);
        } else if (flags.json) {
          mux.write('stdout', `${JSON.stringify(jsonResult(result))}\n`, () => budget.give(held));
        } else {
          writeBlocks(mux, group ? result.label : undefined, result.stdout ?? EMPTY, result.stderr ?? EMPTY, () =>
            budget.give(held),
          );
        }
        progress.update(counts);
        return withoutOutput(result);
      },
      () => stop !== undefined,
      (settings) => new HostRun(settings, context).skipped(stop?.skipStatus ?? STATUS_FAILURE),
    );
    if (collapsed !== undefined && stop?.giveUp === undefined) {
      for (const same of collapsed.groups())
        writeBlocks(mux, same.labels.join(','), same.stdout, same.stderr, () => undefined);
    }
  } finally {
    stopSignals();
    progress.stop();
    mux.close();
  }
  if (mux.failed !== 'stderr') io.stderr.write(`${summaryLines(results).join('\n')}\n`);
  return stop?.giveUp ?? overallStatus(results);
}

const EMPTY = Buffer.alloc(0);

// A host's (or identical hosts') output as blocks headed by `title`, as `dshbak` prints
// them, stdout's on stdout and stderr's on stderr; nothing without a title (the lines
// were streamed). `written` is called once all of it has been written (or dropped).
function writeBlocks(
  mux: OutputMux,
  title: string | undefined,
  stdout: Buffer,
  stderr: Buffer,
  written: () => void,
): void {
  const blocks: Array<{ name: 'stdout' | 'stderr'; data: Buffer }> = [];
  if (title !== undefined) {
    for (const [name, output] of [
      ['stdout', stdout],
      ['stderr', stderr],
    ] as const) {
      if (output.length === 0) continue;
      const rule = '-'.repeat(16);
      const end = output[output.length - 1] === 0x0a ? '' : '\n';
      blocks.push({
        name,
        data: Buffer.concat([Buffer.from(`${rule}\n${title}\n${rule}\n`), output, Buffer.from(end)]),
      });
    }
  }
  let pending = blocks.length;
  if (pending === 0) written();
  for (const block of blocks) {
    mux.write(block.name, block.data, () => {
      pending -= 1;
      if (pending === 0) written();
    });
  }
}

/** One host's line of --json. */
export function jsonResult(result: HostResult): Record<string, unknown> {
  const head = { host: result.label, address: result.address, status: result.status };
  if (result.exit !== undefined) {
    return { ...head, ...jsonReport(result.exit, result.stdout ?? Buffer.alloc(0), result.stderr ?? Buffer.alloc(0)) };
  }
  if (result.skipped) return { ...head, skipped: true };
  return { ...head, reached: result.reached, error: result.error ?? null };
}
