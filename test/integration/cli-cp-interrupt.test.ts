// Ctrl-C during `rexec cp`, in-process against a scripted server that never finishes:
// the transfer is aborted on the wire (signal SIGINT for its id), the status is 130,
// and no local file or temporary file is left. And `cp - :FILE` with a stdin that stays
// open, against a real rexecd: a signal ends the spooling, a second one gives up at once.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/rexec/main.js';
import type { CliIo } from '../../src/cli/shared/io.js';
import type { Frame } from '../../src/protocol/frame.js';
import { startFakeServer } from '../helpers/fake-server.js';
import type { FakePeer } from '../helpers/fake-server.js';
import { waitUntil } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { within } from '../helpers/within.js';

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
async function stalledServer(
  first: (peer: FakePeer, frame: Frame) => void,
): Promise<{ port: number; frames: Frame[]; seen: (type: string) => Promise<Frame>; close: () => Promise<void> }> {
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
  const status = main(
    ['cp', '-q', '--port', String(server.port), '-k', join(dir, 'no-key'), ':remote.bin', target],
    cliIo,
  );
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

it('aborts the listing of a recursive download on SIGINT: status 130, the listing killed', async () => {
  const frames: Frame[] = [];
  const fake = await startFakeServer(async (peer) => {
    peer.sendHello({ files: true });
    for (;;) {
      const frame = await peer.nextFrame().catch(() => undefined);
      if (frame === undefined) return;
      frames.push(frame);
      // `find` starts and never ends.
      if (frame.header.type === 'exec') peer.send({ type: 'started', id: frame.header['id'], pid: 1 });
    }
  });
  const frame = (type: string): Frame | undefined => frames.find((each) => each.header.type === type);
  const { io: cliIo, signals } = io();
  const status = main(
    ['cp', '-q', '-r', '--port', String(fake.port), '-k', join(dir, 'no-key'), ':tree', join(dir, 'tree')],
    cliIo,
  );
  const exec = await waitUntil(() => frame('exec'), 'the listing to start');
  signals.emit('SIGINT');
  expect(await within(status, 'the copy to end after SIGINT')).toBe(130);
  const signal = await waitUntil(() => frame('signal'), 'the signal for the listing');
  expect(signal.header).toMatchObject({ id: exec.header['id'], signal: 'SIGKILL' });
  await fake.close();
});

describe('cp - :FILE with a stdin that stays open', () => {
  const savedTmp = process.env['TMPDIR'];
  let server: TestServer;
  let spoolDir: string;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());
  beforeEach(async () => {
    spoolDir = join(dir, `spool-${Math.random().toString(36).slice(2)}`);
    await mkdir(spoolDir);
    process.env['TMPDIR'] = spoolDir;
  });
  afterEach(() => {
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
  });

  const spooled = async (): Promise<string[]> =>
    (await readdir(spoolDir)).filter((name) => name.startsWith('rexec-cp-'));

  // Starts the copy with stdin open and some bytes in it; resolves once they are spooled.
  async function spooling(): Promise<{ status: Promise<number>; signals: EventEmitter; stdin: PassThrough }> {
    const { io: cliIo, signals } = io();
    const stdin = cliIo.stdin as PassThrough;
    stdin.write(Buffer.alloc(500, 1));
    const status = main(
      ['cp', '-q', '--port', String(server.port), '-k', server.keyFile, '-', ':open-stdin.bin'],
      cliIo,
    );
    await waitUntil(async () => {
      const [made] = await spooled();
      if (made === undefined) return false;
      return (await stat(join(spoolDir, made, 'stdin')).catch(() => undefined))?.size === 500;
    }, 'stdin to be spooled');
    return { status, signals, stdin };
  }

  it('a signal ends the spooling: status 128+n, the spooled copy removed, nothing on the server', async () => {
    const { status, signals, stdin } = await spooling();
    signals.emit('SIGTERM');
    expect(await within(status, 'the copy to end after SIGTERM')).toBe(143);
    expect(await spooled()).toStrictEqual([]);
    expect(stdin.destroyed).toBe(true);
    expect(existsSync(join(server.root, 'open-stdin.bin'))).toBe(false);
  });

  it('a second signal gives up at once, with its own status', async () => {
    const { status, signals, stdin } = await spooling();
    signals.emit('SIGINT');
    signals.emit('SIGHUP');
    expect(await within(status, 'the copy to give up after a second signal')).toBe(129);
    expect(stdin.destroyed).toBe(true);
    // The first signal's clean-up still runs to its end.
    await waitUntil(async () => (await spooled()).length === 0, 'the spooled copy to be removed');
    expect(existsSync(join(server.root, 'open-stdin.bin'))).toBe(false);
  });
});
