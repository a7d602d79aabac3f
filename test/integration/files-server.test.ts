// rexecd's side of the file transfer extension (docs/protocol.md section 9), with a raw protocol
// client: exact frames, sizes, modes, EXISTS, the root and its symlinks, aborts, limits.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, waitUntil } from '../helpers/raw-client.js';
import { framesUntil, get, leftovers, put, sendData, sha256, startPut } from '../helpers/files.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

let server: TestServer;
let client: RawClient;
let outside: string;

beforeAll(async () => {
  server = await startServer({ maxConcurrent: 4 });
  client = await RawClient.ready(server.port, server.key);
  // Beside the root, in the test's own directory: outside the root.
  outside = join(dirname(server.root), 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'secret'), 'outside the root\n');
});
afterAll(async () => {
  client.close();
  await server.stop();
});

let nextId = 1;
const id = (): number => nextId++;

describe('hello and round trips', () => {
  it('says "files": true in hello', async () => {
    const raw = await RawClient.open(server.port);
    expect((await raw.next('hello')).header['files']).toBe(true);
    raw.close();
  });

  it.each([
    ['empty', 0],
    ['1 byte', 1],
    ['exactly 1 MiB', MiB],
    ['1 MiB + 1', MiB + 1],
  ])('puts and gets %s, byte for byte, with the sha256 in done', async (name, size) => {
    const content = randomBytes(size);
    const path = `round-${size}.bin`;
    const putId = id();
    const done = await put(client, putId, path, content);
    expect(done).toStrictEqual({ type: 'done', id: putId, bytes: size, sha256: sha256(content) });
    expect((await readFile(join(server.root, path))).equals(content)).toBe(true);

    const getId = id();
    const got = await get(client, getId, path);
    expect(got.file).toMatchObject({ type: 'file', id: getId, size, mode: 0o644 });
    expect(typeof got.file?.['mtimeMs']).toBe('number');
    expect(got.content.equals(content)).toBe(true);
    expect(got.end).toStrictEqual({ type: 'done', id: getId, bytes: size, sha256: sha256(content) });
    // file, data..., done; every body within the frame limit; eof on the last data only.
    const data = got.frames.filter((f) => f.header.type === 'data');
    expect(got.frames.map((f) => f.header.type)).toStrictEqual(['file', ...data.map(() => 'data'), 'done']);
    expect(data.every((f) => f.body.length <= MiB)).toBe(true);
    expect(data.map((f) => f.header['eof'] === true)).toStrictEqual(data.map((_, i) => i === data.length - 1));
    if (size === 0) expect(data.map((f) => f.body.length)).toStrictEqual([0]);
    expect(await leftovers(server.root)).toStrictEqual([]);
  });

  it('accepts data in frames of any size, as the client chooses', async () => {
    const content = randomBytes(10_000);
    const putId = id();
    expect((await startPut(client, putId, 'small-frames.bin', content.length)).type).toBe('ready');
    sendData(client, putId, content, 777);
    const [done] = await framesUntil(client, putId, () => true);
    expect(done?.header).toMatchObject({ type: 'done', bytes: 10_000, sha256: sha256(content) });
  });
});

describe('modes, EXISTS and overwrite', () => {
  it('gives the file exactly its mode, whatever the umask, also on an overwrite', async () => {
    expect(await put(client, id(), 'mode.sh', Buffer.from('#!/bin/sh\n'), { mode: 0o777 })).toMatchObject({
      type: 'done',
    });
    expect((await stat(join(server.root, 'mode.sh'))).mode & 0o7777).toBe(0o777);
    expect(await put(client, id(), 'mode.sh', Buffer.from('x'), { overwrite: true })).toMatchObject({ type: 'done' });
    expect((await stat(join(server.root, 'mode.sh'))).mode & 0o7777).toBe(0o644);
    expect(await put(client, id(), 'mode.sh', Buffer.from('y'), { overwrite: true, mode: 0o600 })).toMatchObject({
      type: 'done',
    });
    expect((await stat(join(server.root, 'mode.sh'))).mode & 0o7777).toBe(0o600);
  });

  it('refuses an existing file with EXISTS before ready, and leaves it as it was', async () => {
    await writeFile(join(server.root, 'kept.txt'), 'original');
    const putId = id();
    expect(await startPut(client, putId, 'kept.txt', 3)).toMatchObject({ type: 'error', code: 'EXISTS', id: putId });
    expect(await readFile(join(server.root, 'kept.txt'), 'utf8')).toBe('original');
    expect(await put(client, id(), 'kept.txt', Buffer.from('new'), { overwrite: true })).toMatchObject({
      type: 'done',
    });
    expect(await readFile(join(server.root, 'kept.txt'), 'utf8')).toBe('new');
  });

  it('treats a directory as EXISTS without overwrite and BAD_REQUEST with it', async () => {
    await mkdir(join(server.root, 'a-dir'));
    expect(await startPut(client, id(), 'a-dir', 1)).toMatchObject({ code: 'EXISTS' });
    expect(await startPut(client, id(), 'a-dir', 1, { overwrite: true })).toMatchObject({ code: 'BAD_REQUEST' });
    expect((await stat(join(server.root, 'a-dir'))).isDirectory()).toBe(true);
  });

  it('needs mkdirs for a missing parent (NOT_FOUND without), and makes it', async () => {
    expect(await startPut(client, id(), 'new/deep/f.txt', 1)).toMatchObject({ code: 'NOT_FOUND' });
    expect(existsSync(join(server.root, 'new'))).toBe(false);
    expect(await put(client, id(), 'new/deep/f.txt', Buffer.from('z'), { mkdirs: true })).toMatchObject({
      type: 'done',
    });
    expect(await readFile(join(server.root, 'new/deep/f.txt'), 'utf8')).toBe('z');
  });

  it('takes absolute paths inside the root, and refuses a path that names a directory', async () => {
    expect(await put(client, id(), join(server.root, 'abs.txt'), Buffer.from('abs'))).toMatchObject({ type: 'done' });
    expect(await readFile(join(server.root, 'abs.txt'), 'utf8')).toBe('abs');
    for (const path of ['dir/', '.', 'x/..', '/']) {
      expect(await startPut(client, id(), path, 1, { mkdirs: true })).toMatchObject({ code: 'BAD_REQUEST' });
    }
  });
});

describe('the root and its symlinks', () => {
  it.each([
    ['an absolute path outside', () => join(outside, 'new.txt')],
    ['a path that climbs out', () => '../outside/new.txt'],
    ['an existing file outside (never EXISTS)', () => join(outside, 'secret')],
    ['a missing directory outside, even with mkdirs', () => join(outside, 'no/such/dir/f')],
    ['/etc/passwd', () => '/etc/passwd'],
  ])('DENIED for %s, with or without overwrite', async (_name, path) => {
    for (const extra of [{}, { overwrite: true, mkdirs: true }]) {
      expect(await startPut(client, id(), path(), 1, extra)).toMatchObject({ code: 'DENIED' });
    }
    expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('outside the root\n');
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(join(outside, 'no'))).toBe(false);
  });

  it('never writes through a final symlink: EXISTS without overwrite, DENIED with it', async () => {
    await symlink(join(outside, 'secret'), join(server.root, 'link-out'));
    await writeFile(join(server.root, 'inside-target'), 'inside');
    await symlink('inside-target', join(server.root, 'link-in'));
    for (const link of ['link-out', 'link-in']) {
      expect(await startPut(client, id(), link, 1)).toMatchObject({ code: 'EXISTS' });
      expect(await startPut(client, id(), link, 1, { overwrite: true })).toMatchObject({ code: 'DENIED' });
      expect((await lstat(join(server.root, link))).isSymbolicLink()).toBe(true);
    }
    expect(await readlink(join(server.root, 'link-out'))).toBe(join(outside, 'secret'));
    expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('outside the root\n');
    expect(await readFile(join(server.root, 'inside-target'), 'utf8')).toBe('inside');
  });

  it('refuses a parent that is a symlink out of the root, and follows one inside it', async () => {
    await symlink(outside, join(server.root, 'parent-out'));
    await mkdir(join(server.root, 'real-dir'));
    await symlink('real-dir', join(server.root, 'parent-in'));
    expect(await startPut(client, id(), 'parent-out/new.txt', 1)).toMatchObject({ code: 'DENIED' });
    expect(await startPut(client, id(), 'parent-out/sub/new.txt', 1, { mkdirs: true })).toMatchObject({
      code: 'DENIED',
    });
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(join(outside, 'sub'))).toBe(false);
    expect(await put(client, id(), 'parent-in/via-link.txt', Buffer.from('in'))).toMatchObject({ type: 'done' });
    expect(await readFile(join(server.root, 'real-dir/via-link.txt'), 'utf8')).toBe('in');
  });

  it('refuses mkdirs through a dangling symlink (where it leads is unknown)', async () => {
    await symlink(join(outside, 'not-yet'), join(server.root, 'dangling-dir'));
    expect(await startPut(client, id(), 'dangling-dir/f', 1, { mkdirs: true })).toMatchObject({ code: 'DENIED' });
    expect(existsSync(join(outside, 'not-yet'))).toBe(false);
  });

  it('gets through a symlink only when its real path is inside the root', async () => {
    await writeFile(join(server.root, 'real.txt'), 'real content');
    await symlink('real.txt', join(server.root, 'get-in'));
    await symlink(join(outside, 'secret'), join(server.root, 'get-out'));
    await symlink(join(outside, 'missing'), join(server.root, 'get-dangling-out'));
    await symlink('missing-inside', join(server.root, 'get-dangling-in'));
    const inside = await get(client, id(), 'get-in');
    expect(inside.content.toString()).toBe('real content');
    expect(inside.end).toMatchObject({ type: 'done', sha256: sha256(Buffer.from('real content')) });
    expect((await get(client, id(), 'get-out')).end).toMatchObject({ code: 'DENIED' });
    expect((await get(client, id(), 'parent-out/secret')).end).toMatchObject({ code: 'DENIED' });
    expect((await get(client, id(), join(outside, 'secret'))).end).toMatchObject({ code: 'DENIED' });
    expect((await get(client, id(), 'get-dangling-out')).end).toMatchObject({ code: 'DENIED' });
    expect((await get(client, id(), 'get-dangling-in')).end).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses a get of a directory or a FIFO (BAD_REQUEST) and of a missing file (NOT_FOUND)', async () => {
    execFileSync('mkfifo', [join(server.root, 'fifo')]);
    expect((await get(client, id(), 'a-dir')).end).toMatchObject({ code: 'BAD_REQUEST' });
    expect((await get(client, id(), 'fifo')).end).toMatchObject({ code: 'BAD_REQUEST' });
    expect((await get(client, id(), 'no-such-file')).end).toMatchObject({ code: 'NOT_FOUND' });
    expect((await get(client, id(), 'no-such-dir/file')).end).toMatchObject({ code: 'NOT_FOUND' });
  });

  it("refuses a get of a file its user cannot read with the system's reason", async () => {
    await writeFile(join(server.root, 'unreadable'), 'x');
    await chmod(join(server.root, 'unreadable'), 0o000);
    const result = await get(client, id(), 'unreadable');
    if (process.getuid?.() === 0) {
      // root reads anything: the file comes.
      expect(result.end).toMatchObject({ type: 'done' });
    } else {
      expect(result.end).toMatchObject({ code: 'SPAWN_FAILED' });
      expect(String(result.end['message'])).toMatch(/permission denied/);
    }
  });
});

describe('exact sizes', () => {
  it('refuses eof before size bytes with BAD_REQUEST, and writes nothing', async () => {
    await writeFile(join(server.root, 'short-original'), 'original');
    for (const [path, extra] of [
      ['short-new', {}],
      ['short-original', { overwrite: true }],
    ] as const) {
      const putId = id();
      expect((await startPut(client, putId, path, 10, extra)).type).toBe('ready');
      client.send({ type: 'data', id: putId, eof: true }, Buffer.from('12345'));
      const [answer] = await framesUntil(client, putId, () => true);
      expect(answer?.header).toMatchObject({ type: 'error', code: 'BAD_REQUEST', id: putId });
    }
    expect(existsSync(join(server.root, 'short-new'))).toBe(false);
    expect(await readFile(join(server.root, 'short-original'), 'utf8')).toBe('original');
    expect(await leftovers(server.root)).toStrictEqual([]);
  });

  it('refuses a byte beyond size as soon as it arrives, before any eof', async () => {
    const putId = id();
    expect((await startPut(client, putId, 'too-long', 4)).type).toBe('ready');
    client.send({ type: 'data', id: putId }, Buffer.from('12345'));
    const [answer] = await framesUntil(client, putId, () => true);
    expect(answer?.header).toMatchObject({ type: 'error', code: 'BAD_REQUEST', id: putId });
    // The put is over: its id is unknown now.
    client.send({ type: 'data', id: putId, eof: true });
    expect((await client.next(undefined, putId)).header).toMatchObject({ code: 'UNKNOWN_ID' });
    expect(existsSync(join(server.root, 'too-long'))).toBe(false);
    expect(await leftovers(server.root)).toStrictEqual([]);
  });
});

describe('aborts', () => {
  it('SIGINT aborts a put: nothing more for its id, no file, and the id is free at once', async () => {
    await writeFile(join(server.root, 'abort-original'), 'original');
    const putId = id();
    expect((await startPut(client, putId, 'abort-original', 100, { overwrite: true })).type).toBe('ready');
    client.send({ type: 'data', id: putId }, Buffer.alloc(50, 1));
    client.send({ type: 'signal', id: putId, signal: 'SIGINT' });
    // The same id again, right after the signal: accepted.
    expect((await startPut(client, putId, 'abort-new', 1)).type).toBe('ready');
    client.send({ type: 'signal', id: putId, signal: 'SIGTERM' });
    client.send({ type: 'ping', ts: 'after-aborts' });
    await client.next('pong');
    const mine = client.frames.filter((f) => f.header['id'] === putId);
    expect(mine.map((f) => f.header.type)).toStrictEqual(['ready', 'ready']);
    expect(await readFile(join(server.root, 'abort-original'), 'utf8')).toBe('original');
    expect(existsSync(join(server.root, 'abort-new'))).toBe(false);
    expect(await leftovers(server.root)).toStrictEqual([]);
  });

  it('ignores other signals for a transfer', async () => {
    const putId = id();
    expect((await startPut(client, putId, 'usr1.txt', 2)).type).toBe('ready');
    client.send({ type: 'signal', id: putId, signal: 'SIGUSR1' });
    client.send({ type: 'signal', id: putId, signal: 'SIGKILL' });
    client.send({ type: 'data', id: putId, eof: true }, Buffer.from('ok'));
    expect((await client.next(undefined, putId)).header).toMatchObject({ type: 'done', bytes: 2 });
  });

  it('SIGTERM aborts a get in the middle: no done, nothing after the signal', async () => {
    const content = randomBytes(24 * MiB);
    await writeFile(join(server.root, 'big-get.bin'), content);
    const raw = await RawClient.ready(server.port, server.key);
    const getId = 1;
    raw.send({ type: 'get', id: getId, path: 'big-get.bin' });
    await raw.next('file', getId);
    // Stop reading: the server's send queue fills and it stops reading the file.
    raw.socket.pause();
    raw.send({ type: 'signal', id: getId, signal: 'SIGTERM' });
    raw.send({ type: 'ping', ts: 'mark' });
    raw.socket.resume();
    await raw.next('pong');
    const pongAt = raw.frames.findIndex((f) => f.header.type === 'pong');
    const mine = raw.frames.filter((f) => f.header['id'] === getId);
    expect(mine.some((f) => f.header.type === 'done')).toBe(false);
    expect(raw.frames.slice(pongAt).some((f) => f.header['id'] === getId)).toBe(false);
    const received = mine.filter((f) => f.header.type === 'data').reduce((sum, f) => sum + f.body.length, 0);
    expect(received).toBeLessThan(content.length);
    raw.close();
  });

  it('a dropped connection mid-upload leaves neither a partial file nor a damaged original', async () => {
    const original = randomBytes(3 * MiB);
    await writeFile(join(server.root, 'precious.bin'), original);
    const raw = await RawClient.ready(server.port, server.key);
    expect((await startPut(raw, 1, 'precious.bin', 8 * MiB, { overwrite: true })).type).toBe('ready');
    expect((await startPut(raw, 2, 'fresh.bin', 8 * MiB)).type).toBe('ready');
    raw.send({ type: 'data', id: 1 }, randomBytes(MiB));
    raw.send({ type: 'data', id: 2 }, randomBytes(MiB));
    // Wait until the server holds a temporary file for each, then drop the connection.
    await waitUntil(async () => (await leftovers(server.root)).length === 2, 'two temporary files');
    raw.close();
    await waitUntil(() => server.server.runningCount === 0, 'the transfers to end');
    await waitUntil(async () => (await leftovers(server.root)).length === 0, 'the temporary files to go');
    expect((await readFile(join(server.root, 'precious.bin'))).equals(original)).toBe(true);
    expect(existsSync(join(server.root, 'fresh.bin'))).toBe(false);
  });
});

describe('ids and limits shared with commands', () => {
  it('counts transfers toward maxConcurrent (BUSY) and their ids toward DUPLICATE_ID', async () => {
    const raw = await RawClient.ready(server.port, server.key);
    expect((await startPut(raw, 1, 'busy-1', 1)).type).toBe('ready');
    expect((await startPut(raw, 2, 'busy-2', 1)).type).toBe('ready');
    raw.send({ type: 'exec', id: 3, argv: ['sleep', '30'] });
    await raw.next('started', 3);
    // A put with the id of the running command, an exec with the id of a put.
    expect(await startPut(raw, 3, 'dup', 1)).toMatchObject({ type: 'error', code: 'DUPLICATE_ID', id: 3 });
    raw.send({ type: 'exec', id: 1, argv: ['true'] });
    expect((await raw.next('error', 1)).header).toMatchObject({ code: 'DUPLICATE_ID' });
    raw.send({ type: 'get', id: 2, path: 'round-1.bin' });
    expect((await raw.next('error', 2)).header).toMatchObject({ code: 'DUPLICATE_ID' });
    expect((await startPut(raw, 4, 'busy-4', 1)).type).toBe('ready');
    // Four running (the server's limit): a fifth request of any kind is BUSY.
    expect(await startPut(raw, 5, 'busy-5', 1)).toMatchObject({ code: 'BUSY' });
    raw.send({ type: 'get', id: 6, path: 'round-1.bin' });
    expect((await raw.next('error', 6)).header).toMatchObject({ code: 'BUSY' });
    raw.send({ type: 'exec', id: 7, argv: ['true'] });
    expect((await raw.next('error', 7)).header).toMatchObject({ code: 'BUSY' });
    // Frames that do not fit the request they name.
    raw.send({ type: 'data', id: 3 }, Buffer.from('x'));
    expect((await raw.next('error', 3)).header).toMatchObject({ code: 'BAD_REQUEST' });
    raw.send({ type: 'stdin', id: 1 }, Buffer.from('x'));
    expect((await raw.next('error', 1)).header).toMatchObject({ code: 'BAD_REQUEST' });
    raw.send({ type: 'data', id: 99 }, Buffer.from('x'));
    expect((await raw.next('error', 99)).header).toMatchObject({ code: 'UNKNOWN_ID' });
    // A finished transfer frees its slot.
    raw.send({ type: 'data', id: 1, eof: true }, Buffer.from('1'));
    expect((await raw.next('done', 1)).header).toMatchObject({ bytes: 1 });
    expect((await startPut(raw, 5, 'busy-5', 1)).type).toBe('ready');
    raw.close();
  });

  it('data for a get is BAD_REQUEST', async () => {
    await writeFile(join(server.root, 'slow-get.bin'), randomBytes(32 * MiB));
    const raw = await RawClient.ready(server.port, server.key);
    raw.send({ type: 'get', id: 1, path: 'slow-get.bin' });
    await raw.next('file', 1);
    raw.socket.pause();
    raw.send({ type: 'data', id: 1 }, Buffer.from('x'));
    raw.send({ type: 'ping' });
    raw.socket.resume();
    await raw.next('pong');
    expect(
      raw.frames.some((f) => f.header.type === 'error' && f.header['id'] === 1 && f.header['code'] === 'BAD_REQUEST'),
    ).toBe(true);
    raw.close();
  });
});

describe('idle timeout and shutdown', () => {
  it('a transfer keeps its connection from the idle timeout', async () => {
    const quick = await startServer({ idleTimeoutMs: 400 });
    try {
      const busy = await RawClient.ready(quick.port, quick.key);
      const idle = await RawClient.ready(quick.port, quick.key);
      expect((await startPut(busy, 1, 'slow.txt', 2)).type).toBe('ready');
      // The idle connection is closed after the limit; by then the busy one has been quiet as long.
      expect((await idle.next('error')).header).toMatchObject({ code: 'IDLE_TIMEOUT' });
      await idle.waitClosed();
      // The busy one was admitted first, so its idle check has run too: it is still open.
      busy.send({ type: 'ping', ts: 'still here' });
      expect((await busy.next()).header).toMatchObject({ type: 'pong', ts: 'still here' });
      busy.send({ type: 'data', id: 1, eof: true }, Buffer.from('ok'));
      expect((await busy.next('done', 1)).header).toMatchObject({ bytes: 2 });
      busy.close();
    } finally {
      await quick.stop();
    }
  });

  it('a draining server refuses new transfers with SHUTTING_DOWN and lets running ones finish', async () => {
    const draining = await startServer({ graceMs: 20_000 });
    const raw = await RawClient.ready(draining.port, draining.key);
    expect((await startPut(raw, 1, 'last.txt', 4)).type).toBe('ready');
    const stopped = draining.server.shutdown();
    expect(await startPut(raw, 2, 'refused.txt', 1)).toMatchObject({ code: 'SHUTTING_DOWN' });
    raw.send({ type: 'get', id: 3, path: 'last.txt' });
    expect((await raw.next('error', 3)).header).toMatchObject({ code: 'SHUTTING_DOWN' });
    raw.send({ type: 'data', id: 1, eof: true }, Buffer.from('done'));
    expect((await raw.next('done', 1)).header).toMatchObject({ bytes: 4 });
    expect(await readFile(join(draining.root, 'last.txt'), 'utf8')).toBe('done');
    await stopped;
    await raw.waitClosed();
    await draining.stop();
  });

  it('ends a transfer still running after the grace period with SHUTTING_DOWN, writing nothing', async () => {
    const draining = await startServer({ graceMs: 200 });
    const raw = await RawClient.ready(draining.port, draining.key);
    expect((await startPut(raw, 1, 'never.txt', 4)).type).toBe('ready');
    raw.send({ type: 'data', id: 1 }, Buffer.from('ne'));
    const stopped = draining.server.shutdown();
    expect((await raw.next('error', 1)).header).toMatchObject({ code: 'SHUTTING_DOWN' });
    await stopped;
    expect(existsSync(join(draining.root, 'never.txt'))).toBe(false);
    expect(await leftovers(draining.root)).toStrictEqual([]);
    raw.close();
    await draining.stop();
  });
});
