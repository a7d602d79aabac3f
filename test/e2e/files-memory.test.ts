// A 1 GiB file up and down with `rexec cp` through a real rexecd process: memory stays
// bounded on both ends (peak resident size from /proc, far below the file's size), and
// the copy is byte for byte. Needs `npm run build`.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { memoryOf, startDaemon } from '../helpers/daemon.js';
import type { Daemon } from '../helpers/daemon.js';
import { rexec } from '../helpers/rexec-cli.js';
import type { CliRun } from '../helpers/rexec-cli.js';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;
// Far below the file: unbounded buffering on either side would come near 1 GiB.
const BOUND = 256 * MiB;

let daemon: Daemon;
let dir: string;

beforeAll(async () => {
  daemon = await startDaemon();
  dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-memory-')));
});
afterAll(async () => {
  expect(await daemon.stop()).toBe(0);
  await rm(dir, { recursive: true, force: true });
});

/** Writes `size` bytes that do not repeat within a MiB, and returns their sha256. */
async function writeBigFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const block = randomBytes(MiB);
  const handle = await open(path, 'w');
  try {
    for (let offset = 0; offset < size; offset += MiB) {
      block.writeUInt32BE(offset / MiB, 0);
      hash.update(block);
      await handle.write(block);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Runs the program and samples its peak resident memory until it exits. */
async function withPeak(run: CliRun): Promise<{ result: Awaited<CliRun>; clientPeak: number }> {
  const pid = run.child.pid as number;
  let clientPeak = 0;
  const sample = (): void => {
    try {
      clientPeak = Math.max(clientPeak, memoryOf(pid).peak);
    } catch {
      // Exited between two samples.
    }
  };
  const timer = setInterval(sample, 25);
  try {
    const result = await run;
    return { result, clientPeak };
  } finally {
    clearInterval(timer);
  }
}

it('moves 1 GiB each way with bounded memory in rexecd and in rexec', async () => {
  const env = { REXEC_PORT: String(daemon.port), REXEC_KEY_FILE: daemon.keyFile };
  const source = join(dir, 'big.bin');
  const expected = await writeBigFile(source, GiB);

  const up = await withPeak(rexec(['cp', '-q', source, ':big.bin'], env));
  expect(up.result.exitCode).toBe(0);
  const back = join(dir, 'back.bin');
  const down = await withPeak(rexec(['cp', '-q', ':big.bin', back], env));
  expect(down.result.exitCode).toBe(0);

  expect(await sha256Of(join(daemon.root, 'big.bin'))).toBe(expected);
  expect(await sha256Of(back)).toBe(expected);
  const serverPeak = memoryOf(daemon.process.pid as number).peak;
  expect(serverPeak).toBeLessThan(BOUND);
  // The samples saw the programs (a real peak, not a process that had already gone).
  expect(up.clientPeak).toBeGreaterThan(10 * MiB);
  expect(down.clientPeak).toBeGreaterThan(10 * MiB);
  expect(up.clientPeak).toBeLessThan(BOUND);
  expect(down.clientPeak).toBeLessThan(BOUND);
}, 300_000);
