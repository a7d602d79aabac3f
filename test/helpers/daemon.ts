// Runs the built bin/rexecd.js as a real process on 127.0.0.1:0 (for tests of the
// program itself, and of its memory from /proc).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { generateKeyText } from '../../src/common/key-file.js';
import { DEADLINE_MS } from './raw-client.js';

export const REXECD = new URL('../../bin/rexecd.js', import.meta.url).pathname;
export const REXEC = new URL('../../bin/rexec.js', import.meta.url).pathname;

export interface Daemon {
  readonly port: number;
  readonly key: string;
  readonly keyFile: string;
  readonly root: string;
  readonly process: ChildProcess;
  /** Everything rexecd wrote to stderr so far. */
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit status (signals are a failure). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** How to start it beyond its arguments. */
export interface DaemonSettings {
  /** Descriptors of ours that rexecd inherits as its fd 3, 4, ... ('ignore': none at that number; 'ipc': a channel). */
  readonly inherit?: ReadonlyArray<number | 'ignore' | 'ipc'>;
}

/** Starts rexecd with `args` added after the test's own --port/--key-file/--root. */
export async function startDaemon(args: readonly string[] = [], settings: DaemonSettings = {}): Promise<Daemon> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'rexecd-test-')));
  const root = join(dir, 'root');
  await mkdir(root);
  const key = generateKeyText();
  const keyFile = join(dir, 'key');
  await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
  const child = spawn(process.execPath, [REXECD, '--port', '0', '--key-file', keyFile, '--root', root, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', ...(settings.inherit ?? [])],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rexecd did not start: ${stderr}`)), DEADLINE_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^rexecd listening on 127\.0\.0\.1:(\d+)\n/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then((code) => reject(new Error(`rexecd exited with ${code}: ${stderr}`)));
  });
  return {
    port,
    key,
    keyFile,
    root,
    process: child,
    stderr: () => stderr,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Peak and current resident memory of a process, in bytes, from /proc. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}
