// RemoteProcess against a real rexecd: the order of events, exit codes and signals,
// the server's refusals, cwd, env, stdin and merge (docs/protocol.md section 4).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, RexecError } from '../../src/client/index.js';
import type { RexecClient } from '../../src/client/index.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { readAll, run, waitForOutput } from '../helpers/streams.js';
import { rejection } from '../helpers/rejection.js';

let server: TestServer;
let client: RexecClient;

beforeAll(async () => {
  server = await startServer();
  await mkdir(join(server.root, 'sub'));
  client = await connect({ host: server.host, port: server.port, key: server.key });
});
afterAll(async () => {
  await client.close();
  await server.stop();
});

describe('one command', () => {
  it('reports started, then output, then the end of both streams, then exit', async () => {
    const events: string[] = [];
    const remote = client.exec({ argv: ['sh', '-c', 'echo out; echo err >&2'] });
    void remote.started.then(({ pid }) => events.push(`started ${pid > 0}`));
    remote.stdout.on('data', (chunk: Buffer) => events.push(`stdout ${chunk.toString().trim()}`));
    remote.stdout.on('end', () => events.push('stdout end'));
    remote.stderr.on('data', (chunk: Buffer) => events.push(`stderr ${chunk.toString().trim()}`));
    remote.stderr.on('end', () => events.push('stderr end'));
    const exit = await remote.exit;
    events.push('exit');
    expect(events[0]).toBe('started true');
    expect(events.at(-1)).toBe('exit');
    expect(events.slice(1, -1).sort()).toEqual(['stderr end', 'stderr err', 'stdout end', 'stdout out']);
    expect(events.indexOf('stdout out')).toBeLessThan(events.indexOf('stdout end'));
    expect(exit).toMatchObject({ code: 0, signal: null, timedOut: false, truncated: false });
    expect(exit.stdoutBytes).toBe(4);
    expect(exit.stderrBytes).toBe(4);
    expect(Number.isInteger(exit.durationMs)).toBe(true);
  });

  it('keeps the order of stdout and stderr writes with merge', async () => {
    const { stdout, stderr, exit } = await run(client, {
      argv: ['sh', '-c', 'echo 1; echo 2 >&2; echo 3; echo 4 >&2'],
      merge: true,
    });
    expect(stdout).toBe('1\n2\n3\n4\n');
    expect(stderr).toBe('');
    expect(exit.stderrBytes).toBe(0);
  });

  it('returns the exit code', async () => {
    expect((await run(client, { argv: ['sh', '-c', 'exit 3'] })).exit.code).toBe(3);
    expect((await run(client, { argv: ['true'] })).exit.code).toBe(0);
  });

  it('returns the signal that ended the process', async () => {
    const { exit } = await run(client, { argv: ['sh', '-c', 'kill -KILL $$'] });
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
  });

  it('delivers SIGINT to a running command', async () => {
    const remote = client.exec({
      argv: ['sh', '-c', 'trap "echo caught; exit 5" INT; echo ready; while :; do sleep 0.05; done'],
    });
    const output = readAll(remote.stdout);
    remote.stderr.resume();
    await waitForOutput(remote.stdout, 'ready');
    expect(remote.signal('SIGINT')).toBe(true);
    const exit = await remote.exit;
    expect(exit.code).toBe(5);
    expect((await output).toString()).toBe('ready\ncaught\n');
    expect(remote.signal('SIGINT')).toBe(false);
  });

  it('may signal right after exec, before started arrives', async () => {
    const remote = client.exec({ argv: ['sleep', '30'] });
    remote.signal('SIGTERM');
    remote.stdout.resume();
    remote.stderr.resume();
    expect(await remote.exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('reports a timeout', async () => {
    const { exit } = await run(client, { argv: ['sleep', '30'], timeoutMs: 200 });
    expect(exit).toMatchObject({ code: null, timedOut: true, signal: 'SIGTERM' });
  });

  it("runs in cwd with the env it was given, and nothing of the server's", async () => {
    const { stdout } = await run(client, {
      argv: ['sh', '-c', 'pwd -P; echo "$GREETING"; echo "${REXEC_TEST_SECRET-unset}"'],
      cwd: 'sub',
      env: { GREETING: 'hello there' },
    });
    expect(stdout).toBe(`${join(server.root, 'sub')}\nhello there\nunset\n`);
  });
});

describe('stdin', () => {
  it('is closed at once unless asked for', async () => {
    const remote = client.exec({ argv: ['cat'] });
    expect(remote.stdin).toBeNull();
    expect((await readAll(remote.stdout)).length).toBe(0);
    expect((await remote.exit).code).toBe(0);
  });

  it('forwards writes and ends with eof', async () => {
    const remote = client.exec({ argv: ['sh', '-c', 'cat; echo done'], stdin: true });
    remote.stdin?.write('line one\n');
    remote.stdin?.end(Buffer.from('line two\n'));
    const [stdout, exit] = await Promise.all([readAll(remote.stdout), remote.exit]);
    expect(stdout.toString()).toBe('line one\nline two\ndone\n');
    expect(exit.code).toBe(0);
  });
});

describe('refusals', () => {
  it('rejects exit and started with NOT_FOUND for a missing program', async () => {
    const remote = client.exec({ argv: ['no-such-program-rexec'] });
    const error = await rejection(remote.exit);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.id).toBe(remote.id);
    expect((await rejection(remote.started)).code).toBe('NOT_FOUND');
    expect((await readAll(remote.stdout)).length).toBe(0);
  });

  it('rejects with DENIED for a cwd outside the root, and for a shell command', async () => {
    expect((await rejection(client.exec({ argv: ['true'], cwd: '/' }).exit)).code).toBe('DENIED');
    expect((await rejection(client.exec({ command: 'true' }).exit)).code).toBe('DENIED');
  });

  it('rejects with SPAWN_FAILED for a cwd that does not exist', async () => {
    expect((await rejection(client.exec({ argv: ['true'], cwd: 'missing' }).exit)).code).toBe('SPAWN_FAILED');
  });

  it('throws BAD_REQUEST naming the option before sending anything', () => {
    const attempts = [
      () => client.exec({ argv: ['a'], command: 'b' }),
      () => client.exec({}),
      () => client.exec({ argv: [] }),
      () => client.exec({ argv: ['true'], timeoutMs: 0 }),
      () => client.exec({ argv: ['true'], env: { 'A=B': 'c' } }),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(RexecError);
      try {
        attempt();
      } catch (error) {
        expect((error as RexecError).code).toBe('BAD_REQUEST');
      }
    }
    expect(() => client.exec({ argv: ['true'], timeoutMs: 1.5 })).toThrow(
      /"timeoutMs" must be a positive integer, not 1.5/,
    );
  });

  it('keeps working after refusals', async () => {
    expect((await run(client, { argv: ['echo', 'still here'] })).stdout).toBe('still here\n');
  });
});
