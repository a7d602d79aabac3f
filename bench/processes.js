// Process management for the benchmarks: every child is started in its own process
// group and tracked, every wait has a deadline, and whatever is still alive when the
// bench ends (normally, on an error or on Ctrl-C) has its whole group killed.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const NODE = process.execPath;

const children = new Set();
const tempDirs = new Set();

/** Rejects with a clear message when `promise` has not settled within `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh temporary directory, removed when the bench exits. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `rexec-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/**
 * Starts a tracked child in its own process group (detached), so that stopping it
 * also stops anything it started in that group.
 */
export function start(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true });
  children.add(child);
  child.closed = new Promise((resolve) => child.once('close', resolve));
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, at: performance.now() });
    });
    child.once('error', (error) => {
      children.delete(child);
      resolve({ code: null, signal: null, error });
    });
  });
  return child;
}

/** Waits for a child to exit, at most `ms`. */
export function waitExit(child, ms, what) {
  return withTimeout(child.exited, ms, what);
}

function killGroup(child, signal) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to the child's group, SIGKILL after `graceMs` if it is still there. */
export async function stop(child, graceMs = 3000) {
  if (child === undefined || !children.has(child)) return;
  killGroup(child, 'SIGTERM');
  try {
    await withTimeout(child.exited, graceMs, 'stop');
  } catch {
    killGroup(child, 'SIGKILL');
    await withTimeout(child.exited, 2000, 'SIGKILL').catch(() => {});
  }
}

/** Kills every tracked group at once (synchronous: usable from 'exit'). */
export function killAllNow() {
  for (const child of children) killGroup(child, 'SIGKILL');
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Stops every tracked process politely, then removes temporary directories. */
export async function stopAll() {
  await Promise.all([...children].map((child) => stop(child, 2000)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Number of tracked processes still running (for the end-of-run check). */
export function runningCount() {
  return children.size;
}

/** Resolves with the first line of `stream` matching `pattern` (its match), within `ms`. */
export function readLine(child, stream, pattern, ms, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      let text = '';
      const onData = (chunk) => {
        text += chunk.toString('utf8');
        for (const line of text.split('\n')) {
          const match = pattern.exec(line);
          if (match) {
            stream.off('data', onData);
            stream.resume();
            resolve(match);
            return;
          }
        }
        if (text.length > 65536) text = text.slice(-4096);
      };
      stream.on('data', onData);
      child.exited.then(({ code, signal, error }) =>
        reject(
          new Error(
            `${what} exited before it was ready (code ${code}, signal ${signal}${error ? `, ${error.message}` : ''})`,
          ),
        ),
      );
    }),
    ms,
    what,
  );
}

/** Peak and current resident set size of a pid, in bytes, from /proc/<pid>/status. */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : NaN;
  };
  return { hwm: kib('VmHWM'), rss: kib('VmRSS') };
}

function tail(path, bytes = 2000) {
  try {
    const text = readFileSync(path, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

/**
 * Starts `node bin/rexecd.js` on 127.0.0.1 with a fresh key and root; resolves once it
 * has printed `rexecd listening on 127.0.0.1:<port>`. Its log goes to a file.
 */
export async function startRexecd(extraArgs = []) {
  const dir = tempDir('rexecd');
  const keyFile = join(dir, 'key');
  const key = randomBytes(32).toString('hex');
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  const root = join(dir, 'root');
  mkdirSync(root);
  const logFile = join(dir, 'rexecd.log');
  const log = openSync(logFile, 'a');
  const args = [join(REPO, 'bin/rexecd.js'), '--port', '0', '--key-file', keyFile, '--root', root, ...extraArgs];
  const child = start(NODE, args, { stdio: ['ignore', 'pipe', log], cwd: root });
  closeSync(log);
  let match;
  try {
    match = await readLine(child, child.stdout, /^rexecd listening on (\S+):(\d+)$/, 15000, 'rexecd');
  } catch (error) {
    await stop(child);
    throw new Error(`${error.message}\n--- rexecd log ---\n${tail(logFile)}`);
  }
  return {
    child,
    pid: child.pid,
    host: '127.0.0.1',
    port: Number(match[2]),
    key,
    keyFile,
    root,
    logFile,
    logTail: () => tail(logFile),
    stop: () => stop(child, 5000),
  };
}

/**
 * Runs a command to its end and collects its output (bounded), within `ms`.
 * Resolves with { code, signal, stdout, stderr, ms }.
 */
export async function runToEnd(command, args, ms, what, options = {}) {
  const started = performance.now();
  const child = start(command, args, options);
  const out = [];
  const err = [];
  let outBytes = 0;
  child.stdout?.on('data', (c) => {
    if (outBytes < 16 << 20) out.push(c);
    outBytes += c.length;
  });
  child.stderr?.on('data', (c) => {
    if (err.length < 256) err.push(c);
  });
  try {
    const end = await waitExit(child, ms, what);
    // 'exit' can come before the last output: wait (briefly) for the pipes to close.
    await withTimeout(child.closed, 2000, `${what}: output pipes`).catch(() => {});
    return {
      ...end,
      ms: (end.at ?? performance.now()) - started,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  } catch (error) {
    await stop(child, 1000);
    throw error;
  }
}
