// Many commands at once on one connection: ids, interleaved frames routed to the right
// process, and the server's BUSY passed on (PROTOCOL.md sections 4 and 8).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, RexecError } from '../../src/client/index.js';
import type { RexecClient } from '../../src/client/index.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { readAll, run } from '../helpers/streams.js';

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
  it('passes BUSY on, and frees ids as commands end', async () => {
    const server = await startServer({ maxConcurrent: 2 });
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    const cats = [0, 1].map(() => client.exec({ argv: ['cat'], stdin: true }));
    await Promise.all(cats.map((remote) => remote.started));
    const refused = client.exec({ argv: ['true'] });
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
