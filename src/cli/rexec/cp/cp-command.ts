// `rexec cp`: files to the server (`rexec cp LOCAL... :REMOTE`) or from it (`rexec cp
// :REMOTE... LOCAL`), one at a time over one connection, each checked with its sha256.
// A file that fails is reported and the others still copy (status 1); a connection or
// authentication failure stops everything (status 255).
import { join, posix, resolve, sep } from 'node:path';
import type { RexecClient } from '../../../client/index.js';
import { ERROR_CODES, RexecError } from '../../../errors.js';
import type { ConnectionSettings } from '../connection-options.js';
import { openClient } from '../connection-options.js';
import { planCopy, remoteDestination, UsageError } from './cp-args.js';
import type { CopyPlan } from './cp-args.js';
import { STATUS_FAILURE, STATUS_SOME_FAILED, statusOfSignal } from '../../shared/exit-status.js';
import { failureMessage } from '../failure-message.js';
import {
  downloadFile,
  downloadTo,
  isLocalDirectory,
  lastComponent,
  localName,
  localSource,
  LocalFileError,
  makeLocalDirectory,
  spool,
  uploadFile,
  walkDirectory,
} from './file-copy.js';
import type { CopySettings } from './file-copy.js';
import { printError } from '../../shared/io.js';
import type { CliIo } from '../../shared/io.js';
import { OutputError } from '../../shared/output-failure.js';
import { Progress } from './progress.js';
import { listRemote, unsafeListedPath } from './remote-list.js';
import { catchSignals } from '../signals.js';

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

/** Whether the summary is printed: on a terminal (not with -q), as scp does, or with -v. */
export function showSummary(flags: CpFlags, io: CliIo): boolean {
  return flags.verbose === true || (flags.quiet !== true && (io.stderr as { isTTY?: boolean }).isTTY === true);
}

/** Copies; resolves with the exit status. */
export async function cpCommand(operands: readonly string[], flags: CpFlags, settings: ConnectionSettings, io: CliIo): Promise<number> {
  let plan: CopyPlan;
  try {
    plan = planCopy(operands, flags.recursive === true);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printError(io, error.message);
    return STATUS_FAILURE;
  }
  let client: RexecClient;
  try {
    client = await openClient(settings);
  } catch (error) {
    printError(io, failureMessage(error, settings));
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

/** How a copy tells its failures, and whether it draws its progress line. */
export interface CopyOutput {
  /** Prints one failure line (default: `rexec: ...` on stderr). */
  readonly report?: (message: string) => void;
  /** Draw the per-file progress line on a terminal (default true; not with -q). */
  readonly progress?: boolean;
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
    if (plan.direction === 'upload') await this.#upload(plan);
    else await this.#download(plan);
    this.#progress.clear();
    return this.#fatal ?? (this.#failed > 0 ? STATUS_SOME_FAILED : 0);
  }

  get #stopped(): boolean {
    return this.#fatal !== undefined;
  }

  #copySettings(): CopySettings {
    return {
      force: this.#flags.force === true,
      preserve: this.#flags.preserve === true,
      signal: this.#abort.signal,
      onProgress: (bytes) => this.#progress.update(bytes),
      onSize: (size) => this.#progress.setFileSize(size),
    };
  }

  // Every local file is found first, so that the progress line knows the whole size.
  async #upload(plan: Extract<CopyPlan, { direction: 'upload' }>): Promise<void> {
    if (plan.sources[0] === '-') {
      await this.#uploadStdin(plan.target);
      return;
    }
    const jobs: Array<{ name: string; size: number; run: () => Promise<unknown> }> = [];
    for (const source of plan.sources) {
      const name = localName(source);
      if (this.#flags.recursive === true && (await isLocalDirectory(source))) {
        const files = await walkDirectory(source, (path, why) => this.#fail(path, new LocalFileError(`${path}: ${why} (skipped)`)));
        for (const file of files) {
          const remote = remoteDestination(plan, name, file.relative);
          const settings = { ...this.#copySettings(), mkdirs: true };
          jobs.push({ name: file.path, size: file.size, run: () => uploadFile(this.#client, file.path, remote, settings) });
        }
        continue;
      }
      try {
        const { size } = await localSource(source);
        const remote = remoteDestination(plan, name);
        jobs.push({ name: source, size, run: () => this.#uploadOne(source, remote, plan.intoDirectory) });
      } catch (error) {
        this.#fail(source, error);
      }
    }
    this.#progress.setTotal(jobs.reduce((sum, job) => sum + job.size, 0));
    for (const job of jobs) {
      if (this.#stopped) return;
      await this.#one(job.name, job.size, job.run);
    }
  }

  // A single file to a target that does not end in "/": if the server says it exists
  // (or, with -f, that it is a directory), the target may be a directory: try inside it.
  async #uploadOne(local: string, remote: string, intoDirectory: boolean): Promise<unknown> {
    const settings = { ...this.#copySettings(), mkdirs: intoDirectory };
    try {
      return await uploadFile(this.#client, local, remote, settings);
    } catch (error) {
      const inTheWay =
        error instanceof RexecError && (error.code === 'EXISTS' || (error.code === 'BAD_REQUEST' && this.#flags.force === true));
      if (intoDirectory || !inTheWay || error.id === undefined) throw error;
      try {
        return await uploadFile(this.#client, local, posix.join(remote, lastComponent(local)), { ...settings, mkdirs: false });
      } catch (retry) {
        // Not a directory after all: the first answer is the one that explains.
        if (retry instanceof RexecError && (retry.code === 'NOT_FOUND' || retry.code === 'DENIED')) throw error;
        throw retry;
      }
    }
  }

  async #uploadStdin(remote: string): Promise<void> {
    let spooled;
    try {
      spooled = await spool(this.#io.stdin, this.#abort.signal);
    } catch (error) {
      this.#fail('-', error);
      return;
    }
    try {
      const { size } = await localSource(spooled.path);
      // Like a file a program writes (`cat > file`): 0666 less the umask.
      await this.#one(':' + remote, size, () =>
        uploadFile(this.#client, spooled.path, remote, { ...this.#copySettings(), preserve: false, mkdirs: false, mode: 0o666 }),
      );
    } finally {
      await spooled.remove();
    }
  }

  async #download(plan: Extract<CopyPlan, { direction: 'download' }>): Promise<void> {
    const { target } = plan;
    if (target === '-') {
      const [remote] = plan.sources as [string];
      await this.#one(`:${remote}`, undefined, () => downloadTo(this.#client, remote, this.#io.stdout, this.#copySettings()));
      return;
    }
    const targetIsDirectory = await isLocalDirectory(target);
    if ((plan.sources.length > 1 || this.#flags.recursive === true) && !targetIsDirectory) {
      if (this.#flags.recursive === true) {
        try {
          await makeLocalDirectory(target);
        } catch (error) {
          this.#fail(target, error);
          return;
        }
      } else {
        this.#fail(target, new LocalFileError(`${target} is not a directory (several files go into a directory)`));
        return;
      }
    }
    const into = targetIsDirectory || plan.sources.length > 1 || this.#flags.recursive === true;
    for (const remote of plan.sources) {
      if (this.#stopped) return;
      const name = lastComponent(remote);
      if (into && (name === '.' || name === '..')) {
        // Its name on the server is unknown here, and ".." would lead out of the target.
        this.#fail(`:${remote}`, new LocalFileError(`:${remote}: ends in "${name}": name the directory itself (the copy takes its name)`));
        continue;
      }
      const local = into ? join(target, name) : target;
      if (this.#flags.recursive === true) await this.#downloadTree(remote, local);
      else await this.#one(`:${remote}`, undefined, () => downloadFile(this.#client, remote, local, this.#copySettings()));
    }
  }

  async #downloadTree(remote: string, local: string): Promise<void> {
    let entries;
    try {
      entries = await listRemote(this.#client, remote, this.#abort.signal);
    } catch (error) {
      this.#fail(`:${remote}`, error);
      return;
    }
    // The listing is the server's word: nothing it names may land outside `local`
    // (a hostile server answering "../../.bashrc", as against scp in CVE-2019-6111).
    const base = resolve(local);
    const below = base.endsWith(sep) ? base : base + sep;
    for (const entry of entries) {
      if (this.#stopped) return;
      const unsafe = entry.relative === '' ? undefined : unsafeListedPath(entry.relative);
      const to = entry.relative === '' ? local : join(local, ...entry.relative.split('/'));
      const inside = resolve(to) === base || resolve(to).startsWith(below);
      if (unsafe !== undefined || !inside) {
        const listed = JSON.stringify(entry.relative);
        const why = unsafe ?? `would be written outside ${local}`;
        this.#fail(`:${remote}`, new LocalFileError(`:${remote}: the server listed ${listed}, which ${why}: not copied`));
        continue;
      }
      const from = entry.relative === '' ? remote : posix.join(remote, entry.relative);
      if (entry.type === 'd') {
        try {
          await makeLocalDirectory(to);
        } catch (error) {
          this.#fail(to, error);
        }
      } else if (entry.type === 'f' || entry.type === 'l') {
        await this.#one(`:${from}`, undefined, () => downloadFile(this.#client, from, to, this.#copySettings()));
      } else {
        this.#fail(`:${from}`, new LocalFileError(`:${from} is not a regular file (skipped)`));
      }
    }
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
    if (error instanceof OutputError) {
      // Our stdout failed: nothing more can be written (quietly so for a closed pipe).
      this.#fatal = error.failure.status;
      this.#fatalCode = 'OUTPUT';
      if (error.failure.message !== undefined) this.#report(error.failure.message);
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

/** One line for a file that failed: what, and what to do. */
export function fileFailure(name: string, error: unknown): string {
  if (error instanceof LocalFileError) return error.message;
  if (!(error instanceof RexecError)) return `${name}: ${error instanceof Error ? error.message : String(error)}`;
  switch (error.code) {
    case 'EXISTS':
      return `${name}: ${error.message.replace(/ \(put with overwrite to replace a file\)$/, '')} on the server (use -f to overwrite)`;
    case 'CHECKSUM_MISMATCH':
      return `${name}: sha256 mismatch, the copy is not trusted: ${error.message}`;
    case 'DENIED':
      return `${name}: denied by the server: ${error.message}`;
    case 'BUSY':
      return `${name}: the server is busy: ${error.message}`;
    case 'BAD_REQUEST':
      return `${name}: ${error.message}${/ is a directory$/.test(error.message) ? ' (use -r to copy it)' : ''}`;
    default:
      return `${name}: ${error.message}`;
  }
}
