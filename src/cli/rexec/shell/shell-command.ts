// `rexec shell`: a prompt that runs one remote command per line over one connection.
// Each command is its own process, so the directory `cd` sets lives here and goes out
// as each request's cwd; `~` stands for the server's root. With a pipe instead of a terminal it runs the lines in order,
// without prompts, and exits with the last status.
import { posix } from 'node:path';
import type { ExecOptions, RemoteProcess, RexecClient } from '../../../client/index.js';
import { RexecError } from '../../../errors.js';
import { STATUS_FAILURE, STATUS_USAGE, statusOfError, statusOfExit, statusOfSignal } from '../../shared/exit-status.js';
import { failureMessage } from '../failure-message.js';
import { startCommand } from '../remote-command.js';
import { forwardOutput } from '../forward-streams.js';
import type { ConnectionSettings } from '../connection-options.js';
import { withClient } from '../open-client.js';
import type { Interface } from 'node:readline';
import { nodeReadline } from '../../../common/lazy-modules.js';
import { printError } from '../../shared/io.js';
import type { CliIo, ForwardedSignal } from '../../shared/io.js';
import { parseShellLine } from './shell-line.js';
import { Copy } from '../cp/copy.js';
import { showSummary } from '../cp/cp-command.js';
import { isShellTransfer, parseShellTransfer } from './shell-files.js';
import { catchSignals } from '../signals.js';

/** Lines of history kept by the prompt. */
const HISTORY_SIZE = 1000;
/** How long the directory check of `cd` may take. */
const CD_TIMEOUT_MS = 10_000;
/** Most output of that check held (a path, or pwd's complaint). */
const PROBE_MAX_BYTES = 1024 * 1024;

/** Runs the shell until `exit`, end of input or a broken connection; resolves with the status. */
export async function shellCommand(settings: ConnectionSettings, io: CliIo): Promise<number> {
  return withClient(settings, io, (client) => new Shell(client, settings, io).run());
}

class Shell {
  readonly #client: RexecClient;
  readonly #settings: ConnectionSettings;
  readonly #io: CliIo;
  readonly #interactive: boolean;
  #root: string | undefined;
  #cwd: string | undefined;
  #previous: string | undefined;
  #status = 0;
  #running: Pick<RemoteProcess, 'signal'> | undefined;
  #signalled = false;
  #finalStatus: number | undefined;
  #end: (() => void) | undefined;

  constructor(client: RexecClient, settings: ConnectionSettings, io: CliIo) {
    this.#client = client;
    this.#settings = settings;
    this.#io = io;
    this.#interactive = io.stdin.isTTY === true;
  }

  async run(): Promise<number> {
    const probe = await this.#probe(undefined);
    this.#root = 'dir' in probe ? probe.dir : undefined;
    this.#cwd = this.#root;
    const rl = nodeReadline().createInterface({
      input: this.#io.stdin,
      output: this.#interactive ? this.#io.stdout : undefined,
      terminal: this.#interactive,
      historySize: HISTORY_SIZE,
    });
    this.#end = () => rl.close();
    const onClientClose = (error: RexecError | undefined): void => {
      if (error === undefined) return;
      printError(this.#io, failureMessage(error, this.#settings));
      this.#stop(STATUS_FAILURE);
    };
    this.#client.on('close', onClientClose);
    const stopSignals = catchSignals(this.#io, (signal) => this.#onSignal(signal));
    // At a terminal, readline turns Ctrl-C into this event instead of a signal.
    rl.on('SIGINT', () => {
      if (this.#running !== undefined) {
        this.#onSignal('SIGINT');
        return;
      }
      rl.write('', { ctrl: true, name: 'e' });
      rl.write('', { ctrl: true, name: 'u' });
      this.#io.stdout.write('^C\n');
      this.#prompt(rl);
    });
    try {
      this.#prompt(rl);
      for await (const line of rl) {
        await this.#line(line);
        if (this.#finalStatus !== undefined) break;
        this.#prompt(rl);
      }
      if (this.#interactive && this.#finalStatus === undefined) this.#io.stdout.write('\n');
    } finally {
      stopSignals();
      this.#client.off('close', onClientClose);
      rl.close();
    }
    return this.#finalStatus ?? this.#status;
  }

  async #line(line: string): Promise<void> {
    const parsed = parseShellLine(line);
    switch (parsed.kind) {
      case 'empty':
        return;
      case 'invalid':
        printError(this.#io, parsed.message);
        this.#status = STATUS_USAGE;
        return;
      case 'exit':
        this.#stop(parsed.status ?? this.#status);
        return;
      case 'cd':
        await this.#cd(parsed.dir);
        return;
      case 'argv':
        if (isShellTransfer(parsed.argv[0])) {
          this.#status = await this.#transfer(parsed.argv);
          return;
        }
        this.#status = await this.#exec({ argv: parsed.argv });
        return;
      case 'shell':
        if (!this.#client.hello.shell) {
          printError(
            this.#io,
            `${parsed.feature} needs a shell, and this server has none: start rexecd with --allow-shell, ` +
              'or quote the argument',
          );
          this.#status = STATUS_USAGE;
          return;
        }
        this.#status = await this.#exec({ command: parsed.command });
    }
  }

  async #cd(dir: string | undefined): Promise<void> {
    let target: string | undefined;
    if (dir === undefined || dir === '~') target = this.#root;
    else if (dir === '-') target = this.#previous ?? this.#cwd;
    else if (dir.startsWith('~/')) target = posix.join(this.#root ?? '', dir.slice(2));
    else if (posix.isAbsolute(dir) || this.#cwd === undefined) target = dir;
    else target = posix.join(this.#cwd, dir);
    const probe = await this.#probe(target);
    if ('error' in probe) {
      printError(this.#io, `cd: ${dir ?? '(root)'}: ${probe.error}`);
      this.#status = 1;
      return;
    }
    this.#previous = this.#cwd;
    this.#cwd = probe.dir;
    this.#status = 0;
  }

  /**
   * Where `cwd` really is on the server (symlinks resolved), asked of `pwd -P`; a
   * server without `pwd` is trusted with the path as given.
   */
  async #probe(cwd: string | undefined): Promise<{ dir: string | undefined } | { error: string }> {
    if (this.#client.isClosed) return { error: 'not connected' };
    try {
      const result = await this.#client.run(['pwd', '-P'], {
        cwd,
        timeoutMs: CD_TIMEOUT_MS,
        maxBuffer: PROBE_MAX_BYTES,
      });
      if (result.code === 0) return { dir: result.stdout.replace(/\n$/, '') };
      return { error: result.stderr.trim() || `pwd failed (${statusOfExit(result)})` };
    } catch (error) {
      if (error instanceof RexecError && error.code === 'NOT_FOUND') return { dir: cwd };
      return { error: error instanceof RexecError ? error.message : String(error) };
    }
  }

  // `put` / `get`: one file, as `rexec cp` copies it; Ctrl-C aborts it.
  async #transfer(argv: readonly string[]): Promise<number> {
    const parsed = parseShellTransfer(argv, this.#cwd);
    if ('usage' in parsed) {
      printError(this.#io, parsed.usage);
      return STATUS_USAGE;
    }
    const copy = new Copy(this.#client, parsed.flags, this.#settings, this.#io);
    this.#running = { signal: (name) => (copy.interrupt(name), true) };
    try {
      const status = await copy.run(parsed.plan);
      const summary = copy.summary();
      if (summary !== undefined && showSummary(parsed.flags, this.#io)) this.#io.stderr.write(`${summary}\n`);
      return status;
    } finally {
      this.#running = undefined;
    }
  }

  async #exec(options: ExecOptions): Promise<number> {
    let remote: RemoteProcess;
    try {
      remote = startCommand(this.#client, { ...options, cwd: this.#cwd });
    } catch (error) {
      printError(this.#io, failureMessage(error, this.#settings));
      return statusOfError(error);
    }
    this.#running = remote;
    this.#signalled = false;
    let broken = false;
    const stopOutput = forwardOutput(remote, this.#io, () => {
      broken = true;
      this.#stop(statusOfSignal('SIGPIPE'));
      void this.#client.close();
    });
    try {
      const result = await remote.exit;
      if (result.timedOut) printError(this.#io, `command timed out after ${result.durationMs} ms`);
      return statusOfExit(result);
    } catch (error) {
      if (!broken && !this.#client.isClosed) printError(this.#io, failureMessage(error, this.#settings));
      return statusOfError(error);
    } finally {
      stopOutput();
      this.#running = undefined;
    }
  }

  /**
   * A signal while a command runs goes to it (a repeated one as SIGKILL, for a command
   * that ignores it); without a command, SIGTERM and SIGHUP end the shell, and so does
   * SIGINT when input is not a terminal.
   */
  #onSignal(signal: ForwardedSignal): void {
    if (this.#running !== undefined) {
      this.#running.signal(this.#signalled ? 'SIGKILL' : signal);
      this.#signalled = true;
      return;
    }
    this.#stop(statusOfSignal(signal));
  }

  #stop(status: number): void {
    this.#finalStatus ??= status;
    this.#end?.();
  }

  /** The directory as the prompt shows it: `~` is the server's root. */
  #shownCwd(): string {
    const [root, cwd] = [this.#root, this.#cwd];
    if (cwd === undefined || cwd === root) return '~';
    if (root !== undefined && cwd.startsWith(`${root}/`)) return `~${cwd.slice(root.length)}`;
    return cwd;
  }

  #prompt(rl: Interface): void {
    if (!this.#interactive || this.#finalStatus !== undefined) return;
    rl.setPrompt(`${this.#client.user}@${this.#settings.host}:${this.#shownCwd()}$ `);
    rl.prompt();
  }
}
