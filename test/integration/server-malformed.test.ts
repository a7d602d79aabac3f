// Bad input against a real rexecd (docs/protocol.md sections 2 and 8): each malformed
// vector gets its code and a closed connection, before and after auth; request-level
// errors leave the connection open.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, waitUntil } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

interface Malformed {
  name: string;
  bytes_hex: string;
  expect: string;
}
const vectors = JSON.parse(readFileSync(new URL('../vectors/protocol-v1.json', import.meta.url), 'utf8')) as {
  malformed: Malformed[];
};

describe('malformed frames', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  for (const vector of vectors.malformed) {
    it(`${vector.name}: ${vector.expect} and close, before auth`, async () => {
      const client = await RawClient.open(server.port);
      await client.next('hello');
      client.write(Buffer.from(vector.bytes_hex, 'hex'));
      expect((await client.next()).header).toMatchObject({ type: 'error', code: vector.expect });
      await client.waitClosed();
    });

    it(`${vector.name}: ${vector.expect} and close, after auth, fed one byte at a time`, async () => {
      const client = await RawClient.ready(server.port, server.key);
      for (const byte of Buffer.from(vector.bytes_hex, 'hex')) client.write(Buffer.from([byte]));
      expect((await client.next('error')).header).toMatchObject({ code: vector.expect });
      await client.waitClosed();
    });
  }

  it('rejects a huge declared length from the prefix alone, without waiting for the body', async () => {
    const client = await RawClient.ready(server.port, server.key);
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(15, 0);
    prefix.writeUInt32BE(0xffffffff, 4);
    client.write(prefix);
    expect((await client.next('error')).header).toMatchObject({ code: 'FRAME_TOO_LARGE' });
    await client.waitClosed();
  });

  it('ends running processes when a fatal error closes the connection', async () => {
    const client = await RawClient.ready(server.port, server.key);
    client.send({ type: 'exec', id: 1, argv: ['sleep', '30'] });
    const pid = Number((await client.next('started')).header['pid']);
    client.write(Buffer.from('00000000', 'hex'));
    client.write(Buffer.from('00000000', 'hex'));
    expect((await client.next('error')).header).toMatchObject({ code: 'PROTOCOL' });
    await client.waitClosed();
    await waitUntil(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'sleep to be ended');
  });

  it.each([
    ['argv as a string', { type: 'exec', id: 1, argv: 'ls' }],
    ['id as a string', { type: 'exec', id: '1', argv: ['ls'] }],
    ['env value as a number', { type: 'exec', id: 1, argv: ['ls'], env: { A: 1 } }],
    ['stdin as a string', { type: 'exec', id: 1, argv: ['ls'], stdin: 'yes' }],
    ['signal as a number', { type: 'signal', id: 1, signal: 9 }],
  ])('a member of the wrong JSON type (%s) is PROTOCOL and fatal', async (_name, header) => {
    const client = await RawClient.ready(server.port, server.key);
    client.send(header);
    expect((await client.next('error')).header).toMatchObject({ code: 'PROTOCOL' });
    await client.waitClosed();
  });

  it.each([
    ['empty argv', { argv: [] }, 7],
    ['both argv and command', { argv: ['ls'], command: 'ls' }, 7],
    ['neither argv nor command', {}, 7],
    ['timeoutMs 0', { argv: ['ls'], timeoutMs: 0 }, 7],
    ['timeoutMs 1.5', { argv: ['ls'], timeoutMs: 1.5 }, 7],
    ['an env name with "="', { argv: ['ls'], env: { 'A=B': 'x' } }, 7],
  ])('%s is BAD_REQUEST with the id, and the connection stays open', async (_name, members, id) => {
    const client = await RawClient.ready(server.port, server.key);
    client.send({ type: 'exec', id, ...members });
    expect((await client.next('error')).header).toMatchObject({ code: 'BAD_REQUEST', id });
    const after = await client.run(8, { argv: ['echo', 'still open'] });
    expect(after.stdout.toString()).toBe('still open\n');
    client.close();
  });

  it.each([
    ['id 0', 0],
    ['id 2^31', 2147483648],
    ['id 1.5', 1.5],
    ['no id', undefined],
  ])('an exec with %s is BAD_REQUEST without an id', async (_name, id) => {
    const client = await RawClient.ready(server.port, server.key);
    client.send({ type: 'exec', ...(id === undefined ? {} : { id }), argv: ['true'] });
    const error = (await client.next('error')).header;
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(error).not.toHaveProperty('id');
    client.close();
  });

  it('an unknown frame type is UNSUPPORTED, not fatal; members it does not know are ignored', async () => {
    const client = await RawClient.ready(server.port, server.key);
    client.send({ type: 'teleport', id: 1 });
    expect((await client.next('error')).header).toMatchObject({ code: 'UNSUPPORTED' });
    const result = await client.run(2, { argv: ['echo', 'ok'], colour: 'blue', nested: { a: [1] } });
    expect(result.stdout.toString()).toBe('ok\n');
    client.send({ type: 'ping', ts: null });
    expect((await client.next('pong')).header['ts'] ?? null).toBeNull();
    client.send({ type: 'ping', ts: { any: ['json', 1] } });
    expect((await client.next('pong')).header['ts']).toEqual({ any: ['json', 1] });
    client.close();
  });

  // Numbers re-encode longer than they may arrive ("1E20" is 4 bytes, its echo 21): a
  // ping within the header limit may ask for a pong over it. It is refused, as ws
  // refuses an oversized ping payload, and the connection goes on.
  it('a ping whose echoed ts would not fit in a header is BAD_REQUEST, and the connection goes on', async () => {
    const client = await RawClient.ready(server.port, server.key);
    const header = Buffer.from(`{"type":"ping","ts":[${Array.from({ length: 13_000 }, () => '1E20').join(',')}]}`);
    expect(header.length).toBeLessThanOrEqual(65_536);
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(header.length, 0);
    client.write(Buffer.concat([prefix, header]));
    const error = (await client.next('error')).header;
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(error).not.toHaveProperty('id');
    expect(String(error['message'])).toMatch(/ts/);
    client.send({ type: 'ping', ts: 7 });
    expect((await client.next('pong')).header).toEqual({ type: 'pong', ts: 7 });
    expect((await client.run(1, { argv: ['echo', 'alive'] })).stdout.toString()).toBe('alive\n');
    client.close();
  });

  it('an unknown signal name is BAD_REQUEST with the id', async () => {
    const client = await RawClient.ready(server.port, server.key);
    client.send({ type: 'signal', id: 4, signal: 'SIGSTOP' });
    expect((await client.next('error')).header).toMatchObject({ code: 'BAD_REQUEST', id: 4 });
    client.close();
  });

  it('keeps serving other clients while one sends garbage', async () => {
    const bad = await RawClient.ready(server.port, server.key);
    const good = await RawClient.ready(server.port, server.key);
    bad.write(Buffer.from('this is not a frame at all, just text'));
    const result = await good.run(1, { argv: ['echo', 'fine'] });
    expect(result.stdout.toString()).toBe('fine\n');
    await bad.waitClosed();
    good.close();
  });
});
