// Bulk data through the client, byte for byte, and flow control both ways (docs/protocol.md
// section 5): a reader that stops reading stops the socket; a command that does not
// read its stdin holds the writer's callback instead of letting memory grow.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import type { RexecClient } from '../../src/client/index.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { readAll } from '../helpers/streams.js';

const MiB = 1024 * 1024;

let server: TestServer;
let client: RexecClient;

beforeAll(async () => {
  server = await startServer();
  client = await connect({ host: server.host, port: server.port, key: server.key });
});
afterAll(async () => {
  await client.close();
  await server.stop();
});

/** Connects through a socket whose pause() and write() results the test can watch. */
async function watchedClient(): Promise<{
  client: RexecClient;
  socket: Socket;
  paused: Promise<void>;
  full: Promise<void>;
  maxQueued: () => number;
}> {
  let socket!: Socket;
  let maxQueued = 0;
  let onPause!: () => void;
  let onFull!: () => void;
  const paused = new Promise<void>((resolve) => (onPause = resolve));
  const full = new Promise<void>((resolve) => (onFull = resolve));
  const watched = await connect({
    host: server.host,
    port: server.port,
    key: server.key,
    socketFactory: (target) => {
      socket = netConnect(target);
      const pause = socket.pause.bind(socket);
      socket.pause = () => {
        onPause();
        return pause();
      };
      const write: (chunk: Buffer) => boolean = socket.write.bind(socket);
      socket.write = (chunk: Buffer) => {
        const accepted = write(chunk);
        maxQueued = Math.max(maxQueued, socket.writableLength);
        if (!accepted) onFull();
        return accepted;
      };
      return socket;
    },
  });
  return { client: watched, socket, paused, full, maxQueued: () => maxQueued };
}

describe('bulk data', () => {
  it('receives 5 MB of random binary output byte for byte', async () => {
    const blob = randomBytes(5 * MiB);
    await writeFile(join(server.root, 'blob.bin'), blob);
    const remote = client.exec({ argv: ['cat', 'blob.bin'] });
    const [stdout, stderr, exit] = await Promise.all([readAll(remote.stdout), readAll(remote.stderr), remote.exit]);
    expect(stderr.length).toBe(0);
    expect(exit.stdoutBytes).toBe(blob.length);
    expect(stdout.equals(blob)).toBe(true);
  });

  it('sends 3 MB of stdin through cat byte for byte', async () => {
    const input = randomBytes(3 * MiB + 17);
    const remote = client.exec({ argv: ['cat'], stdin: true });
    remote.stdin?.end(input);
    const [stdout, exit] = await Promise.all([readAll(remote.stdout), remote.exit]);
    expect(exit.code).toBe(0);
    expect(stdout.length).toBe(input.length);
    expect(stdout.equals(input)).toBe(true);
  });
});

describe('flow control', () => {
  it('stops reading the socket while a stream is not read, and resumes when it is', async () => {
    const total = 32 * MiB;
    const watched = await watchedClient();
    const remote = watched.client.exec({ argv: ['head', '-c', String(total), '/dev/zero'] });
    let exited = false;
    void remote.exit.then(() => (exited = true));
    remote.stderr.resume();
    // Nobody reads stdout: its buffer fills, and the client pauses the socket (long
    // before the command could finish).
    await Promise.race([
      watched.paused,
      remote.exit.then(() => {
        throw new Error('all output arrived without the client ever pausing its socket');
      }),
    ]);
    const buffered = remote.stdout.readableLength;
    expect(buffered).toBeGreaterThan(0);
    // Bounded: the stream's high-water mark plus at most one socket read of frames.
    expect(buffered).toBeLessThan(2 * MiB);
    expect(exited).toBe(false);
    const stdout = await readAll(remote.stdout);
    expect(stdout.length).toBe(total);
    expect((await remote.exit).stdoutBytes).toBe(total);
    await watched.client.close();
  });

  it('holds the stdin writer while the command does not read, without buffering it all', async () => {
    const watched = await watchedClient();
    const remote = watched.client.exec({ argv: ['sleep', '30'], stdin: true });
    remote.stdout.resume();
    remote.stderr.resume();
    let written = false;
    remote.stdin?.write(Buffer.alloc(64 * MiB), () => (written = true));
    await watched.full;
    expect(written).toBe(false);
    remote.signal('SIGKILL');
    expect((await remote.exit).signal).toBe('SIGKILL');
    // One 1 MiB frame at a time went to the socket, each after the last had drained:
    // never the whole 64 MiB at once.
    expect(watched.maxQueued()).toBeLessThanOrEqual(MiB + 1024);
    await watched.client.close();
  });
});
