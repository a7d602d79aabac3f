// Commands on a pseudo-terminal (rexec extension, docs/protocol.md section 10):
// `exec.pty`, `resize`, the terminal's line discipline for Ctrl-C, byte-exact output.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, summarize } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('exec on a pseudo-terminal', () => {
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

  it('a signal sent as soon as `started` arrives reaches the command, every time, also on a busy machine', async () => {
    // `started` once came as soon as node-pty had forked, before the child had made its
    // own session: a SIGKILL sent right then found no group (ESRCH), was dropped, and the
    // command ran on. Spinners keep the cores busy so that the child is slow to run.
    const spinners = Array.from({ length: 4 }, () =>
      spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore', detached: true }),
    );
    try {
      for (let i = 0; i < 40; i += 1) {
        const id = 1000 + i;
        client.send({ type: 'exec', id, argv: ['sleep', '53'], pty: { cols: 80, rows: 24 } });
        await client.next('started', id);
        client.send({ type: 'signal', id, signal: 'SIGKILL' });
        const exit = await client.next('exit', id, 15_000);
        expect(exit.header, `try ${i}`).toMatchObject({ code: null, signal: 'SIGKILL' });
      }
    } finally {
      for (const spinner of spinners) process.kill(-(spinner.pid as number), 'SIGKILL');
    }
  }, 300_000);

  it('says so in hello', () => {
    expect(client.frames[0]?.header).toMatchObject({ type: 'hello', pty: true });
  });

  it('runs the command with a terminal of the asked size and type, output as stdout', async () => {
    const result = await client.run(1, {
      argv: ['sh', '-c', 'tty; stty size; echo "$TERM"; echo err >&2'],
      pty: { cols: 123, rows: 45, term: 'vt100' },
    });
    const lines = result.stdout.toString().split('\r\n');
    expect(lines[0]).toMatch(/^\/dev\/pts\/\d+$/);
    expect(lines.slice(1, 4)).toEqual(['45 123', 'vt100', 'err']);
    expect(result.types).not.toContain('stderr');
    expect(result.exit).toMatchObject({ code: 0, stderrBytes: 0 });
  });

  it('resizes the terminal: the program sees SIGWINCH and the new size', async () => {
    client.send({
      type: 'exec',
      id: 2,
      argv: ['sh', '-c', 'trap "stty size; exit 0" WINCH; echo ready; while :; do sleep 0.05; done'],
      pty: { cols: 80, rows: 24 },
    });
    await client.next('stdout', 2);
    client.send({ type: 'resize', id: 2, cols: 132, rows: 50 });
    const result = summarize(await client.collect(2));
    expect(result.stdout.toString()).toContain('50 132');
    expect(result.exit).toMatchObject({ code: 0 });
  });

  it('Ctrl-C typed into the terminal interrupts the foreground program', async () => {
    client.send({ type: 'exec', id: 3, argv: ['sh', '-c', 'echo ready; exec sleep 30'], pty: { cols: 80, rows: 24 } });
    await client.next('stdout', 3);
    client.send({ type: 'stdin', id: 3 }, Buffer.from([3]));
    const result = summarize(await client.collect(3));
    expect(result.exit).toMatchObject({ code: null, signal: 'SIGINT' });
  });

  it('carries a large output byte-exact once the program puts the terminal in raw mode', async () => {
    const result = await client.run(4, {
      argv: ['sh', '-c', 'stty raw -echo; seq 1 300000'],
      pty: { cols: 80, rows: 24 },
    });
    expect(result.exit).toMatchObject({ code: 0 });
    const expected = Array.from({ length: 300_000 }, (_, i) => `${i + 1}\n`).join('');
    const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');
    expect(result.stdout.length).toBe(expected.length);
    expect(sha(result.stdout)).toBe(sha(expected));
  });

  it('sends the stdin eof as ^D, so cat ends', async () => {
    client.send({ type: 'exec', id: 5, argv: ['cat'], pty: { cols: 80, rows: 24 } });
    client.send({ type: 'stdin', id: 5, eof: true }, Buffer.from('typed line\n'));
    const result = summarize(await client.collect(5));
    expect(result.stdout.toString()).toContain('typed line');
    expect(result.exit).toMatchObject({ code: 0 });
  });

  it('a resize after a terminal command exited is UNKNOWN_ID, and the connection goes on', async () => {
    const result = await client.run(11, { argv: ['true'], pty: { cols: 80, rows: 24 } });
    expect(result.exit).toMatchObject({ code: 0 });
    client.send({ type: 'resize', id: 11, cols: 100, rows: 40 });
    expect((await client.next('error', 11)).header).toMatchObject({ code: 'UNKNOWN_ID' });
    expect((await client.run(12, { argv: ['echo', 'alive'] })).stdout.toString()).toBe('alive\n');
  });

  it('refuses resize for a command without a terminal, and bad sizes', async () => {
    client.send({ type: 'exec', id: 6, argv: ['sleep', '5'] });
    await client.next('started', 6);
    client.send({ type: 'resize', id: 6, cols: 10, rows: 10 });
    expect((await client.next('error', 6)).header).toMatchObject({ code: 'BAD_REQUEST' });
    client.send({ type: 'resize', id: 6, cols: 0, rows: 10 });
    expect((await client.next('error', 6)).header).toMatchObject({ code: 'BAD_REQUEST' });
    client.send({ type: 'signal', id: 6, signal: 'SIGKILL' });
    await client.collect(6);
    const bad = await client.run(7, { argv: ['true'], pty: { cols: 80, rows: -1 } });
    expect(bad.error).toMatchObject({ code: 'BAD_REQUEST' });
    const other = await RawClient.ready(server.port, server.key);
    other.send({ type: 'exec', id: 8, argv: ['true'], pty: 'yes' });
    expect((await other.next('error')).header).toMatchObject({ code: 'PROTOCOL' });
    await other.waitClosed();
  });
});
