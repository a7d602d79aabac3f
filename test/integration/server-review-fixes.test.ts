// Regressions for defects found by review: client text too long for an error frame,
// a spawn that fails at once after an async cwd, resize after a terminal's exit, the
// SIGKILL that must still reach what a timed-out command left behind, and the order of
// the allowlist and cwd checks.
import { chmod, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from '../../src/server/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, pidAlive, summarize, waitUntil } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { LAB_RUN_AS, startLab } from '../helpers/lab.js';

describe('review regressions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ graceMs: 300 });
    await mkdir(join(server.root, 'sub'));
  });
  afterAll(() => server.stop());

  it('a frame type of 65,000 characters before auth gets AUTH_REQUIRED, and the server lives on', async () => {
    const client = await RawClient.open(server.port);
    await client.next('hello');
    client.send({ type: 'x'.repeat(65_000) });
    const error = (await client.next('error')).header;
    expect(error).toMatchObject({ code: 'AUTH_REQUIRED' });
    expect(String(error['message']).length).toBeLessThan(1000);
    await client.waitClosed();
    const other = await RawClient.ready(server.port, server.key);
    expect((await other.run(1, { argv: ['echo', 'alive'] })).stdout.toString()).toBe('alive\n');
    other.close();
  });

  it('an argv[0] of 40,000 characters gets its error with its id, and the server lives on', async () => {
    const client = await RawClient.ready(server.port, server.key);
    const result = await client.run(1, { argv: [`/${'a'.repeat(40_000)}`] });
    expect(result.types).toEqual(['error']);
    expect(result.error?.['id']).toBe(1);
    expect((await client.run(2, { argv: ['echo', 'alive'] })).stdout.toString()).toBe('alive\n');
    client.close();
  });

  it('a program that cannot start (ETXTBSY) with a cwd gets SPAWN_FAILED with its id', async () => {
    const program = join(server.root, 'sub', 'busy.sh');
    await writeFile(program, '#!/bin/sh\necho never\n');
    await chmod(program, 0o755);
    const handle = await open(program, 'r+');
    try {
      const client = await RawClient.ready(server.port, server.key);
      const result = await client.run(1, { argv: ['./busy.sh'], cwd: 'sub' });
      expect(result.types).toEqual(['error']);
      expect(result.error).toMatchObject({ code: 'SPAWN_FAILED', id: 1 });
      expect((await client.run(2, { argv: ['echo', 'alive'] })).stdout.toString()).toBe('alive\n');
      client.close();
    } finally {
      await handle.close();
    }
  });

  it('a resize after a terminal command exited is ignored, not a crash', async () => {
    const client = await RawClient.ready(server.port, server.key);
    const result = await client.run(1, { argv: ['true'], pty: { cols: 80, rows: 24 } });
    expect(result.exit).toMatchObject({ code: 0 });
    client.send({ type: 'resize', id: 1, cols: 100, rows: 40 });
    expect((await client.next('error', 1)).header).toMatchObject({ code: 'UNKNOWN_ID' });
    expect((await client.run(2, { argv: ['echo', 'alive'] })).stdout.toString()).toBe('alive\n');
    client.close();
  });

  it('a timed-out command: what it left detached (ignoring SIGTERM) still gets SIGKILL', async () => {
    const client = await RawClient.ready(server.port, server.key);
    const script = '(trap "" TERM; exec sleep 4242) </dev/null >/dev/null 2>&1 & echo $!; exec sleep 4343';
    client.send({ type: 'exec', id: 1, argv: ['sh', '-c', script], timeoutMs: 200 });
    const left = Number((await client.next('stdout', 1)).body.toString().trim());
    const result = summarize(await client.collect(1));
    expect(result.exit).toMatchObject({ timedOut: true });
    // The connection stays open: the kill must not wait for it to close.
    await waitUntil(() => !pidAlive(left), 'the detached process to be killed');
    client.close();
  });
});

describe('lab: allowlist before cwd', () => {
  it('a refused command gets DENIED even with a cwd that does not exist', async () => {
    const lab = await startLab({ allow: ['echo'] });
    try {
      const client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      const result = await client.run(1, { argv: ['id'], cwd: 'no/such/dir' });
      expect(result.error).toMatchObject({ code: 'DENIED' });
      client.close();
    } finally {
      await lab.stop();
    }
  });

  it('a policy with per-user rules needs a users file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rexec-policy-'));
    try {
      const policyFile = join(dir, 'lab.json');
      await writeFile(policyFile, JSON.stringify({ ...LAB_RUN_AS, allow: ['ls'], users: { teacher: { allow: '*' } } }));
      expect(() =>
        createServer({ auth: { mode: 'hmac-sha256', keys: new Map([['default', 'k'.repeat(32)]]) }, port: 0, policyFile }),
      ).toThrow(/needs a users file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
