// A `signal` must reach a command whose stdin nobody reads. The server stops reading a
// connection while a process does not take its stdin (section 5), so a Ctrl-C sent
// behind a large stdin used to wait in TCP for ever (`rexec run -- sleep 100 < big`:
// the first Ctrl-C did nothing). With `exec.stdinAck` (rexec extension) the client
// keeps at most `hello.stdinWindow` bytes unacknowledged, the server keeps reading, and
// the signal arrives. Acknowledgements add up to exactly what the process took.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STDIN_WINDOW } from '../../src/protocol/constants.js';
import { RawClient, summarize } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const CHUNK = 64 * 1024;

function acked(client: RawClient, id: number): number {
  return client.frames
    .filter((frame) => frame.header.type === 'stdin-ack' && frame.header['id'] === id)
    .reduce((sum, frame) => sum + Number(frame.header['bytes']), 0);
}

describe('stdin acknowledged on request', () => {
  let server: TestServer;
  let client: RawClient;
  beforeAll(async () => {
    server = await startServer();
    client = await RawClient.ready(server.port, server.key);
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('hello announces the window', async () => {
    const other = await RawClient.open(server.port);
    const hello = await other.next('hello');
    other.close();
    expect(hello.header['stdinWindow']).toBe(STDIN_WINDOW);
  });

  it('a signal reaches a process that never reads, with a full window of stdin in front of it', async () => {
    client.send({ type: 'exec', id: 1, argv: ['sleep', '60'], stdin: true, stdinAck: true });
    await client.next('started', 1);
    // A whole window: the pipe (64 KiB) is full after the first quarter.
    for (let sent = 0; sent < STDIN_WINDOW; sent += CHUNK)
      client.send({ type: 'stdin', id: 1 }, Buffer.alloc(CHUNK, 0x61));
    client.send({ type: 'signal', id: 1, signal: 'SIGINT' });
    const result = summarize(await client.collect(1));
    expect(result.exit).toMatchObject({ code: null, signal: 'SIGINT' });
    // Nothing was taken but what the pipe held, and nothing more was acknowledged.
    expect(acked(client, 1)).toBeLessThanOrEqual(STDIN_WINDOW);
  });

  it('acknowledges exactly what the process took, so a client keeping to the window never stalls', async () => {
    const total = 4 * 1024 * 1024 + 123;
    client.send({ type: 'exec', id: 2, argv: ['wc', '-c'], stdin: true, stdinAck: true });
    await client.next('started', 2);
    let sent = 0;
    while (sent < total) {
      // Keep to the window, as a client must.
      const room = STDIN_WINDOW - (sent - acked(client, 2));
      if (room <= 0) {
        await client.next('stdin-ack', 2);
        continue;
      }
      const size = Math.min(room, CHUNK, total - sent);
      client.send({ type: 'stdin', id: 2, ...(sent + size === total ? { eof: true } : {}) }, Buffer.alloc(size, 0x62));
      sent += size;
    }
    const result = summarize(await client.collect(2));
    expect(result.stdout.toString().trim()).toBe(String(total));
    expect(acked(client, 2)).toBe(total);
  });

  it('without stdinAck, no stdin-ack is ever sent (other clients see nothing new)', async () => {
    client.send({ type: 'exec', id: 3, argv: ['wc', '-c'], stdin: true });
    client.send({ type: 'stdin', id: 3, eof: true }, Buffer.alloc(300_000, 0x63));
    const result = summarize(await client.collect(3));
    expect(result.stdout.toString().trim()).toBe('300000');
    expect(result.types).not.toContain('stdin-ack');
  });

  it('bytes a process no longer takes (it closed its stdin) are acknowledged all the same', async () => {
    // The process closes its stdin and keeps running: a client keeping to its window
    // must never wait for room that would never come.
    client.send({
      type: 'exec',
      id: 4,
      argv: ['sh', '-c', 'exec 0<&-; sleep 0.5; echo done'],
      stdin: true,
      stdinAck: true,
    });
    await client.next('started', 4);
    const total = 3 * STDIN_WINDOW;
    let sent = 0;
    while (sent < total) {
      const room = STDIN_WINDOW - (sent - acked(client, 4));
      if (room <= 0) {
        await client.next('stdin-ack', 4);
        continue;
      }
      const size = Math.min(room, CHUNK);
      client.send({ type: 'stdin', id: 4 }, Buffer.alloc(size, 0x64));
      sent += size;
    }
    const result = summarize(await client.collect(4));
    expect(result.stdout.toString()).toBe('done\n');
    expect(acked(client, 4)).toBe(total);
  });
});
