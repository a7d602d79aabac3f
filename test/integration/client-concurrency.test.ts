// Many commands at once on one connection: ids, interleaved frames routed to the right
// process, requests past the server's limit queued in the client (commands and file
// transfers), aborted or closed while queued, and the server's BUSY passed on with
// failFast (docs/protocol.md sections 4 and 8).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, RexecError } from '../../src/client/index.js';
import type { RexecClient } from '../../src/client/index.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { readAll, run } from '../helpers/streams.js';
import { rejection } from '../helpers/rejection.js';
import { startLab } from '../helpers/lab.js';

describe('20 commands at once', () => {
  let server: TestServer;
  let client: RexecClient;
  beforeAll(async () => {
    server = await startServer({ maxConcurrent: 32 });
    client = await connect({ host: server.host, port: server.port, key: server.key });
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });

  it('routes each one its own interleaved output and exit', async () => {
    const lines = 3000;
    const script = 'i=0; while [ $i -lt $2 ]; do echo "$1-$i"; echo "e$1-$i" >&2; i=$((i+1)); done; exit $1';
    const processes = Array.from({ length: 20 }, (_, n) =>
      client.exec({ argv: ['sh', '-c', script, 'sh', String(n), String(lines)] }),
    );
    expect(processes.map((remote) => remote.id)).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
    expect(client.running).toBe(20);
    const results = await Promise.all(
      processes.map(async (remote) => {
        const [stdout, stderr, exit] = await Promise.all([readAll(remote.stdout), readAll(remote.stderr), remote.exit]);
        return { stdout: stdout.toString(), stderr: stderr.toString(), exit };
      }),
    );
    results.forEach(({ stdout, stderr, exit }, n) => {
      const expected = (prefix: string): string =>
        Array.from({ length: lines }, (_, i) => `${prefix}${n}-${i}\n`).join('');
      expect(stdout).toBe(expected(''));
      expect(stderr).toBe(expected('e'));
      expect(exit.code).toBe(n);
    });
    expect(client.running).toBe(0);
  });
});

describe('the server limit', () => {
  it('with failFast, passes BUSY on, and frees ids as commands end', async () => {
    const server = await startServer({ maxConcurrent: 2 });
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    const cats = [0, 1].map(() => client.exec({ argv: ['cat'], stdin: true }));
    await Promise.all(cats.map((remote) => remote.started));
    const refused = client.exec({ argv: ['true'], failFast: true });
    const error = await refused.exit.catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(RexecError);
    expect((error as RexecError).code).toBe('BUSY');
    expect(client.running).toBe(2);
    for (const remote of cats) remote.stdin?.end('bye\n');
    const outputs = await Promise.all(cats.map((remote) => readAll(remote.stdout)));
    expect(outputs.map(String)).toEqual(['bye\n', 'bye\n']);
    expect((await run(client, { argv: ['echo', 'free again'] })).stdout).toBe('free again\n');
    await client.close();
    await server.stop();
  });
});

describe('more requests than the server runs at once', () => {
  it('200 commands with stdin on one connection to a default rexecd: queued, every output exact, never BUSY', async () => {
    const server = await startServer();
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    try {
      expect(client.hello.limits.maxConcurrent).toBe(16);
      let most = 0;
      const runs = Array.from({ length: 200 }, async (_, n) => {
        const remote = client.exec({ argv: ['sh', '-c', 'cat; echo " from $1"', 'sh', String(n)], stdin: true });
        most = Math.max(most, client.running);
        const input = `${String(n).repeat(3000)}\n`;
        remote.stdin?.end(input);
        const [stdout, stderr, exit] = await Promise.all([readAll(remote.stdout), readAll(remote.stderr), remote.exit]);
        most = Math.max(most, client.running);
        return { n, input, stdout: stdout.toString(), stderr: stderr.toString(), exit };
      });
      expect(client.queued).toBe(184);
      for (const result of await Promise.all(runs)) {
        expect(result.stdout).toBe(`${result.input} from ${result.n}\n`);
        expect(result.stderr).toBe('');
        expect(result.exit.code).toBe(0);
      }
      expect(most).toBe(16);
      expect(client.running + client.queued).toBe(0);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('queues file transfers with commands: they share the slots', async () => {
    const server = await startServer({ maxConcurrent: 2 });
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    try {
      const cats = [0, 1].map(() => client.exec({ argv: ['cat'], stdin: true }));
      await Promise.all(cats.map((remote) => remote.started));
      const put = client.put('queued content', 'queued.txt');
      const got = client.put('second', 'second.txt').then(() => client.get('second.txt'));
      expect(client.queued).toBe(2);
      expect(existsSync(join(server.root, 'queued.txt'))).toBe(false);
      for (const remote of cats) remote.stdin?.end();
      await Promise.all(cats.map((remote) => remote.exit));
      expect((await put).bytes).toBe(14);
      const file = await got;
      expect((await readAll(file.stream)).toString()).toBe('second');
      expect(await readFile(join(server.root, 'queued.txt'), 'utf8')).toBe('queued content');
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('a queued request whose caller aborts is never sent, and rejects with the reason', async () => {
    const server = await startServer({ maxConcurrent: 1 });
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    try {
      const blocker = client.exec({ argv: ['cat'], stdin: true });
      await blocker.started;
      const commandAbort = new AbortController();
      const command = client.exec({ argv: ['touch', 'aborted-command'], signal: commandAbort.signal });
      const putAbort = new AbortController();
      const put = client.put('x', 'aborted-put.txt', { signal: putAbort.signal });
      const getAbort = new AbortController();
      const get = client.get('nothing.txt', { signal: getAbort.signal });
      expect(client.queued).toBe(3);
      expect(command.signal('SIGTERM')).toBe(false);
      // A request that could never be sent is refused at once, queue or not.
      expect(() => client.exec({ argv: ['echo', 'x'.repeat(70_000)] })).toThrow(
        expect.objectContaining({ code: 'FRAME_TOO_LARGE' }),
      );
      expect(client.queued).toBe(3);
      commandAbort.abort(new Error('changed my mind'));
      putAbort.abort(new Error('put no more'));
      getAbort.abort(new Error('get no more'));
      await expect(command.exit).rejects.toThrow('changed my mind');
      await expect(command.started).rejects.toThrow('changed my mind');
      await expect(put).rejects.toThrow('put no more');
      await expect(get).rejects.toThrow('get no more');
      expect(client.queued).toBe(0);
      blocker.stdin?.end();
      await blocker.exit;
      // The slot is free, and nothing of the three ran or was written.
      expect((await run(client, { argv: ['ls', '-A'] })).stdout).toBe('');
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('an AbortSignal kills a running command (SIGKILL) and frees its slot once it has ended', async () => {
    const server = await startServer({ maxConcurrent: 1 });
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    try {
      const abort = new AbortController();
      const sleeper = client.exec({ argv: ['sleep', '60'], signal: abort.signal });
      await sleeper.started;
      const next = client.exec({ argv: ['echo', 'after'] });
      abort.abort(new Error('enough'));
      await expect(sleeper.exit).rejects.toThrow('enough');
      expect((await readAll(next.stdout)).toString()).toBe('after\n');
      expect((await next.exit).code).toBe(0);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('queued requests reject with CONNECTION_CLOSED when the connection closes', async () => {
    const server = await startServer({ maxConcurrent: 1 });
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    try {
      const blocker = client.exec({ argv: ['sleep', '60'] });
      await blocker.started;
      const queued = client.exec({ argv: ['true'], stdin: true });
      queued.stdin?.write('held\n');
      const put = client.put('x', 'never.txt');
      expect(client.queued).toBe(2);
      await client.close();
      for (const promise of [blocker.exit, queued.exit, queued.started, put]) {
        expect((await rejection(promise)).code).toBe('CONNECTION_CLOSED');
      }
      expect(client.queued).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it("waits and sends again on a BUSY from a user's own lower limit (hello says more)", async () => {
    const lab = await startLab(
      { allow: '*', limits: { maxConcurrent: 16 } },
      { alice: { limits: { maxConcurrent: 3 } } },
    );
    const client = await connect({ port: lab.port, key: lab.keys['alice'], user: 'alice' });
    try {
      expect(client.hello.limits.maxConcurrent).toBe(16);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, n) =>
          run(client, { argv: ['sh', '-c', 'sleep 0.2; echo "$1"', 'sh', String(n)] }),
        ),
      );
      expect(results.map((result) => result.stdout)).toEqual(Array.from({ length: 12 }, (_, n) => `${n}\n`));
      expect(results.every((result) => result.exit.code === 0)).toBe(true);
    } finally {
      await client.close();
      await lab.stop();
    }
  });
});
