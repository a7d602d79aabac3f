// The client library's put() and get() against a real rexecd (and, for what a real
// server never does, a fake one): round trips checked with sha256, exact sizes,
// aborts, the server's refusals, and mismatches reported as errors.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import type { RexecClient } from '../../src/client/index.js';
import { RexecError } from '../../src/errors.js';
import { leftovers, sha256 } from '../helpers/files.js';
import { startFakeServer } from '../helpers/fake-server.js';
import { waitUntil } from '../helpers/raw-client.js';
import { readAll } from '../helpers/streams.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

let server: TestServer;
let client: RexecClient;

beforeAll(async () => {
  server = await startServer();
  client = await connect({ port: server.port, key: server.key });
});
afterAll(async () => {
  await client.close();
  await server.stop();
});

/** `total` pseudo-random bytes in chunks, never all in memory; `digest()` once consumed. */
function randomSource(total: number, chunk = 256 * 1024): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let left = total;
  const stream = new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const piece = randomBytes(Math.min(chunk, left));
      left -= piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<RexecError> {
  const error = await promise.then(
    () => expect.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RexecError);
  expect((error as RexecError).code).toBe(code);
  return error as RexecError;
}

describe('round trips', () => {
  it('puts and gets a 200 MB random file, sha256-checked on both sides', async () => {
    const size = 200 * 1000 * 1000;
    const source = randomSource(size);
    const sent = await client.put(source.stream, 'big/200MB.bin', { size, mkdirs: true });
    const expected = source.digest();
    expect(sent).toStrictEqual({ bytes: size, sha256: expected });

    const file = await client.get('big/200MB.bin');
    expect(file.size).toBe(size);
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of file.stream) {
      hash.update(chunk as Buffer);
      received += (chunk as Buffer).length;
    }
    expect(received).toBe(size);
    expect(hash.digest('hex')).toBe(expected);
    expect(await file.done).toStrictEqual({ bytes: size, sha256: expected });
  });

  it('puts a Buffer, a Uint8Array and a string; gets them back with their metadata', async () => {
    const bytes = randomBytes(1234);
    expect(await client.put(bytes, 'buffer.bin', { mode: 0o600 })).toStrictEqual({
      bytes: 1234,
      sha256: sha256(bytes),
    });
    await client.put(new Uint8Array([1, 2, 3]), 'array.bin');
    await client.put('héllo\n', 'text.txt');
    const file = await client.get('buffer.bin');
    expect(file).toMatchObject({ size: 1234, mode: 0o600 });
    expect(file.mtimeMs).toBeGreaterThan(0);
    expect((await readAll(file.stream)).equals(bytes)).toBe(true);
    expect((await readAll((await client.get('array.bin')).stream)).equals(Buffer.from([1, 2, 3]))).toBe(true);
    expect((await readAll((await client.get('text.txt')).stream)).toString()).toBe('héllo\n');
    const empty = await client.put(Buffer.alloc(0), 'empty');
    expect(empty.sha256).toBe(sha256(Buffer.alloc(0)));
    const emptyFile = await client.get('empty');
    expect((await readAll(emptyFile.stream)).length).toBe(0);
    expect(await emptyFile.done).toMatchObject({ bytes: 0 });
  });

  it('runs several transfers at once on one connection', async () => {
    const contents = [0, 1, 2, 3, 4].map((i) => randomBytes(MiB + i * 77_777));
    await Promise.all(contents.map((content, i) => client.put(content, `many/${i}.bin`, { mkdirs: true })));
    // Each stream is read as soon as its get is accepted: an unread one stalls the connection.
    const read = await Promise.all(contents.map(async (_, i) => readAll((await client.get(`many/${i}.bin`)).stream)));
    read.forEach((bytes, i) => expect(bytes.equals(contents[i] as Buffer)).toBe(true));
    expect(client.running).toBe(0);
  });
});

describe('exact sizes, checked before and while sending', () => {
  it('needs a size for a stream, and one that matches a buffer', async () => {
    await expectCode(client.put(Readable.from([Buffer.from('x')]), 'no-size.txt'), 'BAD_REQUEST');
    await expectCode(client.put(Buffer.from('abc'), 'wrong-size.txt', { size: 4 }), 'BAD_REQUEST');
    await expectCode(client.put('x', ''), 'BAD_REQUEST');
    await expectCode(client.put('x', 'bad-mode', { mode: 0o10000 }), 'BAD_REQUEST');
  });

  it('refuses a stream shorter or longer than its size, and nothing is written', async () => {
    const short = await expectCode(
      client.put(Readable.from([Buffer.alloc(10)]), 'short.bin', { size: 11 }),
      'BAD_REQUEST',
    );
    expect(short.message).toMatch(/ended after 10 of the 11/);
    const long = await expectCode(
      client.put(Readable.from([Buffer.alloc(10), Buffer.alloc(5)]), 'long.bin', { size: 12 }),
      'BAD_REQUEST',
    );
    expect(long.message).toMatch(/more than the 12/);
    await waitUntil(
      async () => server.server.runningCount === 0 && (await leftovers(server.root)).length === 0,
      'the server to drop them',
    );
    expect(existsSync(join(server.root, 'short.bin'))).toBe(false);
    expect(existsSync(join(server.root, 'long.bin'))).toBe(false);
  });
});

describe("the server's refusals", () => {
  it('rejects with EXISTS, NOT_FOUND, DENIED and BAD_REQUEST, with the request id', async () => {
    await writeFile(join(server.root, 'exists.txt'), 'kept');
    const exists = await expectCode(client.put('new', 'exists.txt'), 'EXISTS');
    expect(exists.id).toBeGreaterThan(0);
    await expectCode(client.put('x', 'no/parent.txt'), 'NOT_FOUND');
    await expectCode(client.put('x', '/etc/rexec-test.txt'), 'DENIED');
    await expectCode(client.get('/etc/hostname'), 'DENIED');
    await expectCode(client.get('missing.txt'), 'NOT_FOUND');
    await expectCode(client.get('.'), 'BAD_REQUEST');
    expect(await readFile(join(server.root, 'exists.txt'), 'utf8')).toBe('kept');
    expect(await client.put('new', 'exists.txt', { overwrite: true })).toMatchObject({ bytes: 3 });
  });
});

describe('aborts', () => {
  it('an AbortSignal aborts a put: it rejects with the reason and the server keeps nothing', async () => {
    const controller = new AbortController();
    let sent = 0;
    const source = randomSource(64 * MiB);
    const done = client.put(source.stream, 'aborted.bin', {
      size: 64 * MiB,
      signal: controller.signal,
      onProgress: (bytes) => {
        sent = bytes;
        if (bytes >= 4 * MiB) controller.abort(new Error('enough'));
      },
    });
    await expect(done).rejects.toThrow('enough');
    expect(sent).toBeLessThan(64 * MiB);
    await waitUntil(
      async () => server.server.runningCount === 0 && (await leftovers(server.root)).length === 0,
      'the abort to reach the server',
    );
    expect(existsSync(join(server.root, 'aborted.bin'))).toBe(false);
    // The connection is fine afterwards.
    expect(await client.put('after', 'after-abort.txt')).toMatchObject({ bytes: 5 });
  });

  it('an AbortSignal aborts a get, and so does destroying its stream', async () => {
    await client.put(randomBytes(32 * MiB), 'abort-get.bin');
    const controller = new AbortController();
    const file = await client.get('abort-get.bin', { signal: controller.signal });
    controller.abort(new Error('stop reading'));
    await expect(file.done).rejects.toThrow('stop reading');
    expect(file.stream.destroyed).toBe(true);

    const other = await client.get('abort-get.bin');
    other.stream.destroy();
    await expectCode(other.done, 'CONNECTION_CLOSED');
    await waitUntil(() => server.server.runningCount === 0 && client.running === 0, 'both gets to be gone');
    const again = await client.get('abort-get.bin');
    expect((await readAll(again.stream)).length).toBe(32 * MiB);
  });
});

describe('what a real server never does', () => {
  it('reports a sha256 or byte count that differs from done as CHECKSUM_MISMATCH', async () => {
    const fake = await startFakeServer(async (peer) => {
      peer.sendHello({ files: true });
      for (;;) {
        const frame = await peer.nextFrame().catch(() => undefined);
        if (frame === undefined) return;
        const { type, id } = frame.header as { type: string; id: number };
        if (type === 'put') peer.send({ type: 'ready', id });
        if (type === 'data' && frame.header['eof'] === true)
          peer.send({ type: 'done', id, bytes: 3, sha256: '00'.repeat(32) });
        if (type === 'get') {
          peer.send({ type: 'file', id, size: 3, mode: 420, mtimeMs: 0 });
          peer.send({ type: 'data', id, eof: true }, Buffer.from('abc'));
          peer.send({ type: 'done', id, bytes: 3, sha256: sha256(Buffer.from('abd')) });
        }
      }
    });
    const fakeClient = await connect({ port: fake.port });
    try {
      const put = await expectCode(fakeClient.put('abc', 'x'), 'CHECKSUM_MISMATCH');
      expect(put.message).toMatch(/sha256/);
      const file = await fakeClient.get('x');
      const chunks: Buffer[] = [];
      file.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      await expectCode(file.done, 'CHECKSUM_MISMATCH');
      // The stream never ends cleanly: a pipeline into a file would fail.
      expect(file.stream.readableEnded).toBe(false);
      expect(file.stream.destroyed).toBe(true);
    } finally {
      await fakeClient.close();
      await fake.close();
    }
  });

  it('refuses to transfer with a server that does not say "files": true (UNSUPPORTED)', async () => {
    const fake = await startFakeServer((peer) => peer.sendHello());
    const fakeClient = await connect({ port: fake.port });
    try {
      await expectCode(fakeClient.put('x', 'x'), 'UNSUPPORTED');
      await expectCode(fakeClient.get('x'), 'UNSUPPORTED');
    } finally {
      await fakeClient.close();
      await fake.close();
    }
  });
});
