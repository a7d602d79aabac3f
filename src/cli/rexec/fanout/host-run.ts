// One host of a fan-out: connect (within its own deadline), run the command, and either
// stream its output as prefixed lines or collect it (--group, --json) within a budget
// shared by all hosts. Never throws: every outcome becomes a HostResult.
import { exitDeadline } from '../run/exit-deadline.js';
import { printable } from '../../shared/printable.js';
import { OutputCollector } from '../../../client/index.js';
import type { ExitStatus, OutputBudget, RemoteProcess, RexecClient } from '../../../client/index.js';
import type { ConnectionSettings } from '../connection-options.js';
import type { ForwardedSignal } from '../../shared/io.js';
import { openClient } from '../open-client.js';
import {
  STATUS_CANNOT_RUN,
  STATUS_FAILURE,
  STATUS_OUTPUT_LIMIT,
  statusOfError,
  statusOfExit,
  statusOfSignal,
} from '../../shared/exit-status.js';
import { failureCode, failureMessage } from '../failure-message.js';
import { startCommand } from '../remote-command.js';
import type { RunFlags } from '../run/run-program.js';
import { LineSplitter } from './line-splitter.js';
import type { OutputMux } from './output-mux.js';

/** How one host's run ended. */
export interface HostResult {
  /** The host as the user named it. */
  readonly label: string;
  /** host:port connected to. */
  readonly address: string;
  /** This host's exit status, as `rexec run` would have exited for it alone. */
  readonly status: number;
  /** False when the host could not be reached (connect, TLS or authentication failed). */
  readonly reached: boolean;
  /** The command's exit, when it ran to its end. */
  readonly exit?: ExitStatus;
  /** Why there is no exit: the error's code and the message printed. */
  readonly error?: { readonly code: string; readonly message: string };
  /** Set when the host was never started (interrupted first). */
  readonly skipped?: boolean;
  /**
   * The output, when collected (--group, --json): counted against the shared budget
   * until the caller gives its bytes back, once it has reported them.
   */
  readonly stdout?: Buffer;
  readonly stderr?: Buffer;
}

/** host:port of a target as results show it (an IPv6 address in brackets). */
export function hostAddress(settings: Pick<ConnectionSettings, 'host' | 'port'>): string {
  const { host, port } = settings;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Bytes of collected output a result holds (what its reporter gives back to the budget). */
export function heldBytes(result: HostResult): number {
  return (result.stdout?.length ?? 0) + (result.stderr?.length ?? 0);
}

/** The result without its output: what the summary needs, kept until the end. */
export function withoutOutput(result: HostResult): HostResult {
  const { stdout: _stdout, stderr: _stderr, ...rest } = result;
  return rest;
}

/** What every host's run shares. */
export interface HostRunContext {
  readonly args: readonly string[];
  readonly flags: RunFlags;
  readonly mux: OutputMux;
  /** Prefix output lines with `label: `. */
  readonly prefix: boolean;
  /** Collect output for the end (--group, --json) instead of streaming it. */
  readonly collect: boolean;
  readonly budget: OutputBudget;
}

/** A host's run, which a signal can reach while it is in progress. */
export class HostRun {
  readonly #settings: ConnectionSettings;
  readonly #context: HostRunContext;
  readonly #label: string;
  #client: RexecClient | undefined;
  #remote: RemoteProcess | undefined;
  // Why we ended this host's run ourselves, if we did.
  #stop: { status: number; code: string; message: string } | undefined;
  #cancelled: ForwardedSignal | undefined;

  constructor(settings: ConnectionSettings, context: HostRunContext) {
    this.#settings = settings;
    this.#context = context;
    this.#label = settings.label ?? `${settings.host}:${settings.port}`;
  }

  /** Sends `signal` to the command, or keeps it from starting if it has not yet. */
  signal(signal: ForwardedSignal): void {
    if (this.#remote !== undefined) this.#remote.signal(signal);
    else this.#cancelled ??= signal;
  }

  /**
   * Gives up on this host: the connection closes (the server then ends the command).
   * `code` says why in --json: INTERRUPTED (a signal, our output failed) by default.
   */
  abort(status: number, message: string, code = 'INTERRUPTED'): void {
    this.#stop ??= { status, code, message };
    void this.#client?.close();
  }

  /** Connects, runs and reports; never rejects. */
  async run(): Promise<HostResult> {
    let client: RexecClient;
    try {
      client = await openClient(this.#settings, (line) => this.#printLines(line));
    } catch (error) {
      return this.#failed(error, false);
    }
    this.#client = client;
    try {
      if (this.#stop !== undefined) return this.#stopped();
      if (this.#cancelled !== undefined) return this.skipped(statusOfSignal(this.#cancelled));
      return await this.#runOn(client);
    } catch (error) {
      return this.#failed(error, true);
    } finally {
      await client.close();
    }
  }

  /** The result of a host that was never started. */
  skipped(status: number): HostResult {
    return {
      label: this.#label,
      address: this.#address(),
      status,
      reached: true,
      skipped: true,
    };
  }

  async #runOn(client: RexecClient): Promise<HostResult> {
    const { flags, args } = this.#context;
    if (flags.shell && !client.hello.shell) {
      const message = 'the server does not run shell commands (--shell): start rexecd with --allow-shell';
      this.#printLines(message);
      return this.#result({ status: STATUS_CANNOT_RUN, reached: true, error: { code: 'DENIED', message } });
    }
    const remote = startCommand(client, {
      ...(flags.shell ? { command: args.join(' ') } : { argv: [...args] }),
      cwd: flags.cwd,
      env: flags.env,
      timeoutMs: flags.timeout,
      stdin: false,
      merge: flags.merge === true,
    });
    this.#remote = remote;
    const collected = this.#context.collect ? this.#collect(remote) : undefined;
    const stopStreaming = this.#context.collect ? this.#follow(remote) : this.#stream(remote);
    const stopDeadline = exitDeadline(flags.timeout, (message) => this.abort(STATUS_FAILURE, message, 'TIMEOUT'));
    // Whatever ends this run, output not handed over in the result goes back to the budget.
    try {
      let exit: ExitStatus;
      try {
        exit = await remote.exit;
      } catch (error) {
        if (this.#stop !== undefined) return this.#stopped();
        throw error;
      } finally {
        stopDeadline();
        stopStreaming();
      }
      if (this.#stop !== undefined) return this.#stopped();
      if (exit.timedOut)
        this.#printLines(`command timed out after ${exit.durationMs} ms (ended by ${exit.signal ?? 'the server'})`);
      else if (exit.truncated)
        this.#printLines(`the server's output limit was reached: ended by ${exit.signal ?? 'the server'}`);
      return this.#result({ status: statusOfExit(exit), reached: true, exit, ...collected?.take() });
    } finally {
      collected?.drop();
    }
  }

  // Collected output is paused with the rest while our output is full (a report being
  // written still holds its share of the budget), and destroyed if our output fails.
  #follow(remote: RemoteProcess): () => void {
    const forget = [this.#context.mux.addSource(remote.stdout), this.#context.mux.addSource(remote.stderr)];
    return () => {
      for (const done of forget) done();
    };
  }

  // Streams both outputs as whole prefixed lines.
  #stream(remote: RemoteProcess): () => void {
    const { mux } = this.#context;
    const prefix = this.#context.prefix ? `${this.#label}: ` : '';
    const forget: Array<() => void> = [];
    for (const [source, name] of [
      [remote.stdout, 'stdout'],
      [remote.stderr, 'stderr'],
    ] as const) {
      const lines = new LineSplitter(prefix);
      source.on('data', (chunk: Buffer) => mux.write(name, lines.push(chunk)));
      source.on('end', () => mux.write(name, lines.end()));
      forget.push(mux.addSource(source));
    }
    return () => {
      for (const done of forget) done();
    };
  }

  // Collects both outputs within the shared budget. The host whose output would pass it
  // is given up on alone, and what it held goes back to the budget at once (the
  // collector does that), so that the other hosts go on. take() hands the output (and
  // the budget it holds) to the result; drop() gives it back.
  #collect(remote: RemoteProcess): OutputCollector {
    const { budget } = this.#context;
    return new OutputCollector(remote, budget, () =>
      this.abort(
        STATUS_OUTPUT_LIMIT,
        `its output would pass the ${budget.limit / 1024 / 1024} MiB that --group and --json hold for all hosts ` +
          'together: given up on (the server ends the command)',
        'OUTPUT_LIMIT',
      ),
    );
  }

  #stopped(): HostResult {
    const stop = this.#stop as { status: number; code: string; message: string };
    this.#printLines(stop.message);
    return this.#result({ status: stop.status, reached: true, error: { code: stop.code, message: stop.message } });
  }

  #failed(error: unknown, reached: boolean): HostResult {
    if (this.#stop !== undefined) return this.#stopped();
    const message = failureMessage(error, this.#settings, { connecting: !reached });
    this.#printLines(message);
    const code = failureCode(error);
    // Refused before the command ran: the server was reached unless it was the connection that failed.
    const unreachable = !reached || code === 'CONNECT_FAILED' || code === 'TLS';
    return this.#result({ status: statusOfError(error), reached: !unreachable, error: { code, message } });
  }

  #result(fields: Omit<HostResult, 'label' | 'address'>): HostResult {
    return { label: this.#label, address: this.#address(), ...fields };
  }

  #address(): string {
    return hostAddress(this.#settings);
  }

  // Lines about this host (errors, notices) on stderr, each as `rexec: LABEL: ...`.
  #printLines(text: string): void {
    const lines = text.replace(/\n$/, '').split('\n');
    this.#context.mux.write('stderr', lines.map((line) => `rexec: ${this.#label}: ${printable(line)}\n`).join(''));
  }
}
