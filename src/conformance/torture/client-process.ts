// Runs the client under test once: CMD with the scenario's name appended, the torture
// server's address and key in its environment, its output collected (bounded) and
// its whole process group killed at the deadline or when it is done.
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How one run of the client ended. */
export interface ClientRun {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  /** Exit status, or null when a signal ended it. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when it had to be killed at the deadline. */
  readonly timedOut: boolean;
  /** Set when the program could not be started at all. */
  readonly spawnError: string | undefined;
}

/** Output kept per stream; more is counted but dropped. */
export const OUTPUT_LIMIT = 64 * 1024 * 1024;

/** Runs `command` + `args` with `env`; kills it (and its group) after `deadlineMs`. */
export async function runClient(
  command: readonly string[],
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  deadlineMs: number,
): Promise<ClientRun> {
  // Loaded here, not at the top: every `rexec` command would otherwise pay for it at start-up.
  const { spawn } = await import('node:child_process');
  const [file, ...rest] = command;
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(file ?? '', [...rest, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return new Promise((resolve) => {
    const stdout = collector();
    const stderr = collector();
    child.stdout.on('data', stdout.add);
    child.stderr.on('data', stderr.add);
    let timedOut = false;
    let spawnError: string | undefined;
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: nothing left of it.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, deadlineMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = `cannot run ${JSON.stringify(file)}: ${error.code ?? error.message}`;
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      // Whatever the client left behind in its group goes too.
      killGroup();
      resolve({ stdout: stdout.bytes(), stderr: stderr.bytes(), status, signal, timedOut, spawnError });
    });
  });
}

function collector(): { add: (chunk: Buffer) => void; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  let kept = 0;
  return {
    add: (chunk) => {
      if (kept >= OUTPUT_LIMIT) return;
      chunks.push(chunk.subarray(0, OUTPUT_LIMIT - kept));
      kept += chunk.length;
    },
    bytes: () => Buffer.concat(chunks),
  };
}
