// One `rexec cp` over one connection: its files in order (copy-upload.ts,
// copy-download.ts), each with its progress; a file that fails is reported and the
// others still copy, unless the connection is gone, our output failed, or a signal
// stopped the copy.
import type { RexecClient } from '../../../client/index.js';
import { ERROR_CODES, RexecError } from '../../../errors.js';
import { CliError } from '../../shared/cli-error.js';
import { STATUS_FAILURE, STATUS_SOME_FAILED, statusOfSignal } from '../../shared/exit-status.js';
import { printError } from '../../shared/io.js';
import type { CliIo } from '../../shared/io.js';
import type { ConnectionSettings } from '../connection-options.js';
import { failureMessage } from '../failure-message.js';
import type { CopyPlan } from './cp-args.js';
import { downloadAll } from './copy-download.js';
import { uploadAll } from './copy-upload.js';
import { fileFailure } from './file-failure.js';
import { Progress } from './progress.js';
import type { CopySettings } from './upload.js';

/** The flags of `rexec cp`. */
export interface CpFlags {
  readonly recursive?: boolean;
  readonly force?: boolean;
  readonly preserve?: boolean;
  readonly quiet?: boolean;
  /** The summary even when stderr is not a terminal. */
  readonly verbose?: boolean;
  /** -x: hosts to leave out of -H. */
  readonly exclude?: string;
  /** Hosts at once, with several. */
  readonly parallel?: number;
}

/** How a copy tells its failures, and whether it draws its progress line. */
export interface CopyOutput {
  /** Prints one failure line (default: `rexec: ...` on stderr). */
  readonly report?: (message: string) => void;
  /** Draw the per-file progress line on a terminal (default true; not with -q). */
  readonly progress?: boolean;
}

/** What the upload and download steps of a copy use: the copy's state, seen from inside. */
export interface CopyContext {
  readonly client: RexecClient;
  readonly flags: CpFlags;
  readonly io: CliIo;
  readonly progress: Progress;
  /** True once the copy must not start another file. */
  readonly stopped: boolean;
  /** The settings of one file's transfer (force, preserve, the abort signal, progress). */
  settings(): CopySettings;
  /** One file: progress, and its failure reported without stopping the others. */
  one(name: string, size: number | undefined, transfer: () => Promise<unknown>): Promise<void>;
  /** Reports a failure of `name` (a fatal one stops the copy). */
  fail(name: string, error: unknown): void;
}

/** One `rexec cp`: its files in order, its failures, its progress and its status. */
export class Copy {
  readonly #client: RexecClient;
  readonly #flags: CpFlags;
  readonly #settings: ConnectionSettings;
  readonly #io: CliIo;
  readonly #report: (message: string) => void;
  readonly #abort = new AbortController();
  readonly #progress: Progress;
  #failed = 0;
  #fatal: number | undefined;
  #fatalCode: string | undefined;

  constructor(client: RexecClient, flags: CpFlags, settings: ConnectionSettings, io: CliIo, output: CopyOutput = {}) {
    this.#client = client;
    this.#flags = flags;
    this.#settings = settings;
    this.#io = io;
    this.#report = output.report ?? ((message) => printError(io, message));
    this.#progress = new Progress(io.stderr, { quiet: flags.quiet === true || output.progress === false });
  }

  /** The one-line summary (`3 files copied, 1 failed (...)`); undefined when the copy was stopped. */
  summary(): string | undefined {
    return this.#fatal === undefined ? this.#progress.summary(this.#failed) : undefined;
  }

  /** Why the copy did not copy everything: the fatal error's code, INTERRUPTED, FILES_FAILED, or undefined. */
  get failureCode(): string | undefined {
    return this.#fatalCode ?? (this.#failed > 0 ? 'FILES_FAILED' : undefined);
  }

  /** A signal: the current file is aborted (the server removes what it wrote) and the copy stops. */
  interrupt(signal: string): void {
    this.#fatalCode ??= 'INTERRUPTED';
    this.#fatal ??= statusOfSignal(signal);
    this.#abort.abort(new RexecError('CONNECTION_CLOSED', `interrupted by ${signal}`));
  }

  async run(plan: CopyPlan): Promise<number> {
    const context = this.#context();
    if (plan.direction === 'upload') await uploadAll(context, plan);
    else await downloadAll(context, plan);
    this.#progress.clear();
    return this.#fatal ?? (this.#failed > 0 ? STATUS_SOME_FAILED : 0);
  }

  #context(): CopyContext {
    const stopped = (): boolean => this.#fatal !== undefined;
    return {
      client: this.#client,
      flags: this.#flags,
      io: this.#io,
      progress: this.#progress,
      get stopped() {
        return stopped();
      },
      settings: () => ({
        force: this.#flags.force === true,
        preserve: this.#flags.preserve === true,
        signal: this.#abort.signal,
        onProgress: (bytes) => this.#progress.update(bytes),
        onSize: (size) => this.#progress.setFileSize(size),
      }),
      one: (name, size, transfer) => this.#one(name, size, transfer),
      fail: (name, error) => this.#fail(name, error),
    };
  }

  // One file: progress, and its failure reported without stopping the others, unless
  // the connection is gone (or we were interrupted).
  async #one(name: string, size: number | undefined, transfer: () => Promise<unknown>): Promise<void> {
    this.#progress.startFile(name, size);
    try {
      await transfer();
      this.#progress.endFile(true);
    } catch (error) {
      this.#progress.endFile(false);
      this.#fail(name, error);
    }
  }

  #fail(name: string, error: unknown): void {
    if (this.#fatal !== undefined) return;
    this.#progress.clear();
    if (error instanceof CliError && error.code === 'OUTPUT') {
      // Our stdout failed: nothing more can be written (quietly so for a closed pipe).
      this.#fatal = error.status;
      this.#fatalCode = 'OUTPUT';
      if (error.shown) this.#report(error.message);
      return;
    }
    if (error instanceof RexecError && (ERROR_CODES[error.code].fatal || error.code === 'UNSUPPORTED')) {
      // The connection (or the server) cannot go on: no other file would copy.
      this.#fatal = STATUS_FAILURE;
      this.#fatalCode = error.code;
      this.#report(failureMessage(error, this.#settings));
      return;
    }
    this.#failed += 1;
    this.#report(fileFailure(name, error));
  }
}
