// Runs the built `rexec` program (bin/rexec.js) as a process, with a clean environment.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Options, Subprocess } from 'execa';
import type { TestServer } from './server.js';

/** bin/rexec.js, which needs `npm run build` to have made dist/. */
export const REXEC_BIN = fileURLToPath(new URL('../../bin/rexec.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/rexec/main.js', import.meta.url));

/** How a run of the program ended. */
export interface CliResult {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

/** A running program: await it for its result; `child` gives its stdin, stdout and kill(). */
export type CliRun = Promise<CliResult> & { readonly child: Subprocess };

/** REXEC_* variables that point the program at a test server. */
export function serverEnv(server: Pick<TestServer, 'host' | 'port' | 'keyFile'>): Record<string, string> {
  return { REXEC_HOST: server.host, REXEC_PORT: String(server.port), REXEC_KEY_FILE: server.keyFile };
}

/**
 * Starts `rexec args...` with only PATH, a HOME without a key, and `env`; never rejects
 * on a non-zero status.
 */
export function rexec(
  args: readonly string[],
  env: Record<string, string>,
  options: Pick<Options, 'input' | 'inputFile' | 'cwd'> = {},
): CliRun {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run "npm run build" first`);
  const child = execa(process.execPath, [REXEC_BIN, ...args], {
    ...options,
    encoding: 'buffer',
    reject: false,
    extendEnv: false,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent-rexec-home', ...env },
    stripFinalNewline: false,
    timeout: 60_000,
  });
  const result = child.then((done) => ({
    exitCode: done.exitCode,
    signal: done.signal,
    stdout: Buffer.from(done.stdout),
    stderr: Buffer.from(done.stderr),
  }));
  return Object.assign(result, { child });
}
