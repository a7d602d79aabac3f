// Ctrl-C during `rexec cp`, in-process against a scripted server that never finishes:
// the transfer is aborted on the wire (signal SIGINT for its id), the status is 130,
// and no local file or temporary file is left.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../src/cli/rexec.js';
import type { CliIo } from '../../src/cli/io.js';
import type { Frame } from '../../src/protocol/frame.js';
import { startFakeServer } from '../helpers/fake-server.js';
import type { FakePeer } from '../helpers/fake-server.js';

let dir: string;
beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-cp-int-')));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function io(): { io: CliIo; signals: EventEmitter; stderr: () => string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const signals = new EventEmitter();
  return { io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr, signals }, signals, stderr: () => text };
}

/** A server that accepts one transfer, answers `first` to it, and records what comes. */
async function stalledServer(first: (peer: FakePeer, frame: Frame) => void): Promise<{ port: number; frames: Frame[]; seen: (type: string) => Promise<Frame>; close: () => Promise<void> }> {
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  const fake = await startFakeServer(async (peer) => {
    peer.sendHello({ files: true });
    for (;;) {
      const frame = await peer.nextFrame().catch(() => undefined);
      if (frame === undefined) return;
      frames.push(frame);
      for (const wake of waiters.splice(0)) wake();
      if (frame.header.type === 'put' || frame.header.type === 'get') first(peer, frame);
      if (frame.header.type === 'ping') peer.send({ type: 'pong' });
    }
  });
  const seen = async (type: string): Promise<Frame> => {
    for (;;) {
      const found = frames.find((f) => f.header.type === type);
      if (found !== undefined) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { port: fake.port, frames, seen, close: () => fake.close() };
}

it('aborts a download on SIGINT: status 130, signal sent, nothing left locally', async () => {
  const server = await stalledServer((peer, frame) => {
    const id = frame.header['id'];
    peer.send({ type: 'file', id, size: 1000, mode: 420, mtimeMs: 0 });
    peer.send({ type: 'data', id }, Buffer.alloc(100, 7));
  });
  const { io: cliIo, signals } = io();
  const target = join(dir, 'never.bin');
  const status = main(['cp', '-q', '--port', String(server.port), '-k', join(dir, 'no-key'), ':remote.bin', target], cliIo);
  await server.seen('get');
  // The temporary file exists once data has arrived.
  while ((await readdir(dir)).length === 0) await new Promise((resolve) => setImmediate(resolve));
  signals.emit('SIGINT');
  expect(await status).toBe(130);
  const signal = await server.seen('signal');
  expect(signal.header).toMatchObject({ signal: 'SIGINT', id: (await server.seen('get')).header['id'] });
  expect(existsSync(target)).toBe(false);
  expect(await readdir(dir)).toStrictEqual([]);
  await server.close();
});

it('aborts an upload waiting for done on SIGINT: status 130 and the signal on the wire', async () => {
  const server = await stalledServer((peer, frame) => peer.send({ type: 'ready', id: frame.header['id'] }));
  const source = join(dir, 'source.txt');
  await writeFile(source, 'content');
  const { io: cliIo, signals } = io();
  const status = main(['cp', '-q', '--port', String(server.port), '-k', join(dir, 'no-key'), source, ':x.txt'], cliIo);
  const eof = await (async () => {
    for (;;) {
      const frame = await server.seen('data');
      if (frame.header['eof'] === true) return frame;
    }
  })();
  expect(eof.body.toString()).toBe('content');
  signals.emit('SIGINT');
  expect(await status).toBe(130);
  expect((await server.seen('signal')).header).toMatchObject({ signal: 'SIGINT' });
  await rm(source);
  await server.close();
});
