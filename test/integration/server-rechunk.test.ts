// A proxy that cuts the stream into 1-byte or random pieces, or coalesces it into big
// writes, in both directions, changes nothing a client sees (docs/protocol.md section 1).
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, summarize } from '../helpers/raw-client.js';
import { startRechunkProxy } from '../helpers/rechunk-proxy.js';
import type { RechunkMode } from '../helpers/rechunk-proxy.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe.each<[RechunkMode, number]>([
  ['one-byte', 40_000],
  ['random', 3_000_000],
  ['coalesce', 3_000_000],
])('through a %s proxy', (mode, size) => {
  let server: TestServer;
  let data: Buffer;
  beforeAll(async () => {
    server = await startServer();
    data = randomBytes(size);
    await writeFile(join(server.root, 'data.bin'), data);
  });
  afterAll(() => server.stop());

  it('authenticates, runs commands at once and reassembles every byte', async () => {
    const proxy = await startRechunkProxy(server.port, mode, size);
    try {
      const client = await RawClient.ready(proxy.port, server.key);
      // Several requests coalesced into one write, interleaving on the way back.
      client.send({ type: 'exec', id: 1, argv: ['cat', 'data.bin'] });
      client.send({ type: 'exec', id: 2, argv: ['sh', '-c', 'cat data.bin >&2; exit 4'] });
      client.send({ type: 'exec', id: 3, argv: ['cat'], stdin: true });
      const piece = 1024 * 1024;
      for (let offset = 0; offset < data.length; offset += piece) {
        const last = offset + piece >= data.length;
        client.send({ type: 'stdin', id: 3, ...(last ? { eof: true } : {}) }, data.subarray(offset, offset + piece));
      }
      client.send({ type: 'exec', id: 4, argv: ['echo', '粘包 sticky'] });
      const [one, two, three, four] = await Promise.all(
        [1, 2, 3, 4].map(async (id) => summarize(await client.collect(id))),
      );
      expect(sha(one!.stdout)).toBe(sha(data));
      expect(one!.exit).toMatchObject({ code: 0, stdoutBytes: data.length, stderrBytes: 0 });
      expect(sha(two!.stderr)).toBe(sha(data));
      expect(two!.exit).toMatchObject({ code: 4, stderrBytes: data.length });
      expect(sha(three!.stdout)).toBe(sha(data));
      expect(four!.stdout.toString()).toBe('粘包 sticky\n');
      client.send({ type: 'ping', ts: 'after' });
      expect((await client.next('pong')).header['ts']).toBe('after');
      // The proxy really did cut the stream differently from the frames.
      expect(proxy.writes()).toBeGreaterThan(4);
      client.close();
    } finally {
      await proxy.close();
    }
  });
});
