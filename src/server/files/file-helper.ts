// The file helper: a tiny program that rexecd starts, through the same launch path as a
// command (runAs user and group, prlimit, bubblewrap), to read or write one file with
// the policy's identity and confinement instead of rexecd's own (as scp runs a process
// on the server). It runs the same checks as rexecd does in-process (local-files.ts),
// takes a put's bytes on stdin, gives a get's bytes on stdout, and reports on fd 3.
//
// Aborts: rexecd closes stdin early (put: the temporary file is removed), or signals
// the helper (SIGTERM, SIGINT, SIGHUP: the same cleanup, then exit).
import { createWriteStream, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { RexecError } from '../../errors.js';
import { CONTROL_FD } from './helper-protocol.js';
import type { HelperJob, HelperMessage } from './helper-protocol.js';
import { openLocalGet, openLocalPut } from './local-files.js';
import type { OpenedPut } from './local-files.js';

let cleanup: (() => void) | undefined;

function say(message: HelperMessage): void {
  writeSync(CONTROL_FD, `${JSON.stringify(message)}\n`);
}

function fail(error: unknown): void {
  const { code, message } =
    error instanceof RexecError
      ? error
      : { code: 'SPAWN_FAILED', message: error instanceof Error ? error.message : String(error) };
  say({ error: { code, message } });
}

async function put(job: Extract<HelperJob, { op: 'put' }>): Promise<void> {
  let opened: OpenedPut;
  try {
    opened = await openLocalPut(job.scope, job.job);
  } catch (error) {
    fail(error);
    return;
  }
  cleanup = () => opened.abort();
  opened.sink.once('error', (error) => {
    opened.abort();
    fail(new RexecError('SPAWN_FAILED', `${JSON.stringify(job.job.path)}: ${error.message}`));
    process.exit(1);
  });
  say({ ready: { path: opened.path } });
  let bytes = 0;
  process.stdin.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    // rexecd sends exactly `size` bytes; more is a bug that must not reach the file.
    if (bytes > job.job.size) {
      opened.abort();
      fail(new RexecError('BAD_REQUEST', `more than ${job.job.size} bytes arrived`));
      process.exit(1);
    }
    if (!opened.sink.write(chunk)) {
      process.stdin.pause();
      opened.sink.once('drain', () => process.stdin.resume());
    }
  });
  await new Promise<void>((resolve, reject) => {
    process.stdin.once('end', resolve);
    process.stdin.once('error', reject);
  }).catch(() => undefined);
  if (bytes !== job.job.size) {
    // stdin closed early: rexecd gave up on this put.
    opened.abort();
    fail(new RexecError('BAD_REQUEST', `the put ended after ${bytes} of ${job.job.size} bytes`));
    return;
  }
  try {
    await opened.commit();
  } catch (error) {
    fail(error);
    return;
  }
  cleanup = undefined;
  say({ done: { bytes } });
}

async function get(job: Extract<HelperJob, { op: 'get' }>): Promise<void> {
  let opened;
  try {
    opened = await openLocalGet(job.scope, job.id, job.path);
  } catch (error) {
    fail(error);
    return;
  }
  const { path, size, mode, mtimeMs, identity } = opened;
  say({ file: { path, size, mode, mtimeMs, identity } });
  try {
    // Written through the thread pool, so a full pipe never blocks the signal handlers.
    await pipeline(opened.content, createWriteStream('', { fd: 1 }));
    await opened.finished;
  } catch (error) {
    fail(error);
    return;
  }
  say({ done: { bytes: size } });
}

async function main(): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      cleanup?.();
      process.exit(1);
    });
  }
  const job = JSON.parse(process.argv[process.argv.length - 1] ?? '') as HelperJob;
  if (job.op === 'put') await put(job);
  else await get(job);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    cleanup?.();
    try {
      fail(error);
    } catch {
      // fd 3 is gone: rexecd is too.
    }
    process.exit(1);
  },
);
