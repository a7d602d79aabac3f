// Section 5: a client that stops reading while a command writes 512 MB keeps rexecd's
// memory bounded (the process blocks on its pipe instead), and nothing is lost once
// the client reads again. rexecd runs as its own process so its memory can be read.
import { connect } from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeProof, keyFromText, newNonce } from '../../src/protocol/auth-proof.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { encodeFrameBuffer } from '../../src/protocol/frame-encoder.js';
import type { FrameHeader } from '../../src/protocol/frame.js';
import { memoryOf, startDaemon } from '../helpers/daemon.js';
import type { Daemon } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/raw-client.js';

const TOTAL = 512 * 1024 * 1024;

function bytesWritten(pid: number): number {
  return Number(/^wchar:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? -1);
}

function state(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describe('a client that stops reading', () => {
  let daemon: Daemon;
  beforeAll(async () => {
    daemon = await startDaemon();
  });
  afterAll(async () => {
    expect(await daemon.stop()).toBe(0);
  });

  it('blocks the process, not the server memory; every byte arrives afterwards', async () => {
    const socket = connect({ host: '127.0.0.1', port: daemon.port });
    await once(socket, 'connect');
    let stdoutBytes = 0;
    let started: FrameHeader | undefined;
    let exit: FrameHeader | undefined;
    let snonce = Buffer.alloc(0);
    const cnonce = newNonce();
    const decoder = new FrameDecoder(({ header, body }) => {
      if (header.type === 'hello') {
        snonce = Buffer.from(String(header['nonce']), 'base64');
        socket.write(
          encodeFrameBuffer({
            type: 'auth',
            cnonce: cnonce.toString('base64'),
            proof: computeProof(keyFromText(daemon.key), 'client', 'default', snonce, cnonce),
          }),
        );
      } else if (header.type === 'auth-ok') {
        socket.write(encodeFrameBuffer({ type: 'exec', id: 1, argv: ['head', '-c', String(TOTAL), '/dev/zero'] }));
      } else if (header.type === 'started') {
        started = header;
        // Stop reading at once: from here on TCP and the pipe fill up.
        socket.pause();
      } else if (header.type === 'stdout') {
        stdoutBytes += body.length;
      } else if (header.type === 'exit') {
        exit = header;
      }
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    const pid = await waitUntil(() => started && Number(started['pid']), 'started');

    // Wait until the writer is asleep and has stopped making progress.
    let last = -1;
    let steady = 0;
    await waitUntil(
      () => {
        const written = bytesWritten(pid);
        steady = written === last && state(pid) === 'S' ? steady + 1 : 0;
        last = written;
        return steady >= 8;
      },
      'head to block on its pipe',
      60_000,
      100,
    );
    const blockedAt = bytesWritten(pid);
    const memory = memoryOf(daemon.process.pid as number);
    expect(blockedAt).toBeLessThan(TOTAL / 4);
    // Unbounded buffering would hold hundreds of MB here.
    expect(memory.peak).toBeLessThan(200 * 1024 * 1024);

    socket.resume();
    await waitUntil(() => exit, 'exit', 120_000);
    expect(stdoutBytes).toBe(TOTAL);
    expect(exit).toMatchObject({ code: 0, stdoutBytes: TOTAL, stderrBytes: 0 });
    socket.destroy();
  });

  it('stops reading requests from a client that floods pings and never reads the pongs', async () => {
    const socket = connect({ host: '127.0.0.1', port: daemon.port });
    await once(socket, 'connect');
    let pongs = 0;
    let ready = false;
    const cnonce = newNonce();
    const decoder = new FrameDecoder(({ header }) => {
      if (header.type === 'hello') {
        const snonce = Buffer.from(String(header['nonce']), 'base64');
        socket.write(
          encodeFrameBuffer({
            type: 'auth',
            cnonce: cnonce.toString('base64'),
            proof: computeProof(keyFromText(daemon.key), 'client', 'default', snonce, cnonce),
          }),
        );
      } else if (header.type === 'auth-ok') {
        ready = true;
        socket.pause();
      } else if (header.type === 'pong') {
        pongs += 1;
      }
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    await waitUntil(() => ready, 'auth-ok');
    // Queue pings until our own socket holds 16 MB the server has not taken: only a
    // server that stopped reading leaves that much here (kernel buffers are smaller).
    const ping = encodeFrameBuffer({ type: 'ping' });
    const batch = Buffer.concat(Array.from({ length: 4096 }, () => ping));
    let sent = 0;
    await waitUntil(
      () => {
        for (let i = 0; i < 16 && socket.writableLength < 16 * 1024 * 1024; i++) {
          socket.write(batch);
          sent += 4096;
        }
        return socket.writableLength >= 16 * 1024 * 1024 || sent > 8_000_000;
      },
      'the server to stop reading',
      60_000,
      10,
    );
    expect(socket.writableLength).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(memoryOf(daemon.process.pid as number).peak).toBeLessThan(200 * 1024 * 1024);
    socket.resume();
    await waitUntil(() => pongs === sent, `${sent} pongs`, 120_000, 50);
    socket.destroy();
  });
});
