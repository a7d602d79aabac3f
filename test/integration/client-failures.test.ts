// What the client does when the server breaks the rules or the connection: fake servers
// send what a real one must not (docs/protocol.md sections 2, 4, 8).
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import type { RexecClient } from '../../src/client/index.js';
import { startFakeServer } from '../helpers/fake-server.js';
import type { FakePeer, FakeServer } from '../helpers/fake-server.js';
import { readAll } from '../helpers/streams.js';
import { rejection } from '../helpers/rejection.js';

let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A fake server without auth whose connections the test drives; resolves with the client and its peer. */
async function connectToFake(hello?: Record<string, unknown>): Promise<{ client: RexecClient; peer: FakePeer }> {
  let gotPeer!: (peer: FakePeer) => void;
  const peerPromise = new Promise<FakePeer>((resolve) => (gotPeer = resolve));
  fake = await startFakeServer((peer) => {
    peer.sendHello(hello);
    gotPeer(peer);
  });
  const client = await connect({ port: fake.port });
  return { client, peer: await peerPromise };
}

function prefix(headerLength: number, bodyLength: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(headerLength, 0);
  bytes.writeUInt32BE(bodyLength, 4);
  return bytes;
}

describe('frames the client sends', () => {
  it('sends exec, stdin with eof and signal with section 4 members', async () => {
    const { client, peer } = await connectToFake();
    const remote = client.exec({
      argv: ['cat'],
      cwd: 'dir',
      env: { A: '1' },
      timeoutMs: 5000,
      stdin: true,
      merge: true,
    });
    remote.stdin?.end('data');
    remote.signal('SIGTERM');
    const frames = [await peer.nextFrame(), await peer.nextFrame(), await peer.nextFrame(), await peer.nextFrame()];
    expect(frames.map((frame) => frame.header)).toEqual([
      { type: 'exec', id: 1, argv: ['cat'], cwd: 'dir', env: { A: '1' }, timeoutMs: 5000, stdin: true, merge: true },
      { type: 'stdin', id: 1 },
      { type: 'stdin', id: 1, eof: true },
      { type: 'signal', id: 1, signal: 'SIGTERM' },
    ]);
    expect(frames[1]?.body.toString()).toBe('data');
    expect(frames[2]?.body.length).toBe(0);
    const closing = client.close();
    const error = await rejection(remote.exit);
    expect(error.code).toBe('CONNECTION_CLOSED');
    expect(error.message).toBe('the client closed the connection');
    await closing;
  });

  it("cuts stdin into frames no larger than the server's maxBody", async () => {
    const { client, peer } = await connectToFake({
      limits: { maxHeader: 65536, maxBody: 1000, maxConcurrent: 16 },
    });
    const remote = client.exec({ argv: ['cat'], stdin: true });
    remote.stdin?.end(Buffer.alloc(2500, 7));
    await peer.nextFrame();
    const sizes: number[] = [];
    for (let frame = await peer.nextFrame(); frame.header['eof'] !== true; frame = await peer.nextFrame()) {
      sizes.push(frame.body.length);
    }
    expect(sizes).toEqual([1000, 1000, 500]);
    const closing = client.close();
    await remote.exit.catch(() => undefined);
    await closing;
  });
});

describe('a connection that breaks', () => {
  it('rejects a running command with CONNECTION_CLOSED and destroys its streams', async () => {
    const { client, peer } = await connectToFake();
    const remote = client.exec({ argv: ['x'] });
    await peer.nextFrame();
    peer.send({ type: 'started', id: 1, pid: 42 });
    peer.send({ type: 'stdout', id: 1 }, Buffer.from('partial'));
    expect(await remote.started).toEqual({ pid: 42 });
    const output = readAll(remote.stdout);
    peer.socket.destroy();
    const error = await rejection(remote.exit);
    expect(error.code).toBe('CONNECTION_CLOSED');
    expect(error.id).toBe(1);
    await expect(output).rejects.toThrow();
    expect((await client.closed)?.code).toBe('CONNECTION_CLOSED');
  });

  it('passes a fatal error without id to everything pending, and closes', async () => {
    const { client, peer } = await connectToFake();
    const remote = client.exec({ argv: ['x'] });
    const ping = client.ping();
    peer.send({ type: 'error', code: 'IDLE_TIMEOUT', message: 'idle for too long' });
    expect((await rejection(remote.exit)).code).toBe('IDLE_TIMEOUT');
    expect((await rejection(ping)).code).toBe('IDLE_TIMEOUT');
    expect((await client.closed)?.code).toBe('IDLE_TIMEOUT');
    await peer.closed;
  });
});

describe('frames the client ignores', () => {
  it('ignores unknown frame types, frames for unknown ids, and UNKNOWN_ID', async () => {
    const { client, peer } = await connectToFake();
    const remote = client.exec({ argv: ['x'] });
    await peer.nextFrame();
    peer.send({ type: 'future-frame', id: 1, extra: true }, Buffer.from('?'));
    peer.send({ type: 'stdout', id: 99 }, Buffer.from('not ours'));
    peer.send({ type: 'exit', id: 98, code: 0 });
    peer.send({ type: 'error', code: 'UNKNOWN_ID', message: 'not running', id: 97 });
    peer.send({ type: 'started', id: 1, pid: 7, unknownMember: [1, 2] });
    peer.send({ type: 'stdout', id: 1 }, Buffer.from('mine'));
    peer.send({
      type: 'exit',
      id: 1,
      code: 0,
      signal: null,
      timedOut: false,
      truncated: false,
      stdoutBytes: 4,
      stderrBytes: 0,
      durationMs: 1,
    });
    const [stdout, exit] = await Promise.all([readAll(remote.stdout), remote.exit]);
    expect(stdout.toString()).toBe('mine');
    expect(exit.code).toBe(0);
    expect(client.isClosed).toBe(false);
    await client.close();
  });
});

describe('frames that break the protocol', () => {
  it('rejects exit when the byte counts do not match what arrived', async () => {
    const { client, peer } = await connectToFake();
    const remote = client.exec({ argv: ['x'] });
    await peer.nextFrame();
    peer.send({ type: 'started', id: 1, pid: 7 });
    peer.send({ type: 'stdout', id: 1 }, Buffer.from('abc'));
    peer.send({ type: 'exit', id: 1, code: 0, stdoutBytes: 5, stderrBytes: 0, durationMs: 1 });
    remote.stdout.resume();
    const error = await rejection(remote.exit);
    expect(error.code).toBe('UNEXPECTED_FRAME');
    expect(error.message).toContain('5 stdout');
    await client.close();
  });

  it('fails the connection on output before started', async () => {
    const { client, peer } = await connectToFake();
    const remote = client.exec({ argv: ['x'] });
    await peer.nextFrame();
    peer.send({ type: 'stdout', id: 1 }, Buffer.from('too early'));
    expect((await rejection(remote.exit)).code).toBe('UNEXPECTED_FRAME');
    await peer.closed;
  });

  it('fails the connection on a header length of 0 (PROTOCOL)', async () => {
    const { client, peer } = await connectToFake();
    const remote = client.exec({ argv: ['x'] });
    peer.socket.write(prefix(0, 0));
    expect((await rejection(remote.exit)).code).toBe('PROTOCOL');
    expect((await client.closed)?.code).toBe('PROTOCOL');
  });

  it('fails the connection on a body over 1 MiB (FRAME_TOO_LARGE) before reading it', async () => {
    const { client, peer } = await connectToFake();
    const remote = client.exec({ argv: ['x'] });
    peer.socket.write(prefix(2, 1048577));
    expect((await rejection(remote.exit)).code).toBe('FRAME_TOO_LARGE');
  });

  it('fails the connection on a header that is not JSON', async () => {
    const { client, peer } = await connectToFake();
    const ping = client.ping();
    peer.socket.write(Buffer.concat([prefix(3, 0), Buffer.from('{x}')]));
    expect((await rejection(ping)).code).toBe('PROTOCOL');
  });
});
