// Running commands (docs/protocol.md section 4) against a real rexecd with real processes.
import { randomBytes, createHash } from 'node:crypto';
import { chmod, mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive, RawClient, summarize, waitUntil } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('exec', () => {
  let server: TestServer;
  let client: RawClient;
  let nextId = 1;
  const id = (): number => nextId++;

  beforeAll(async () => {
    server = await startServer({ maxConcurrent: 32 });
    await mkdir(join(server.root, 'sub', 'deeper'), { recursive: true });
    await symlink('/etc', join(server.root, 'escape'));
    await symlink(join(server.root, 'sub'), join(server.root, 'inside-link'));
    await writeFile(join(server.root, 'plain.txt'), 'not a program\n');
    await writeFile(join(server.root, 'script.sh'), '#!/bin/sh\necho "script $0 $1"\n');
    await chmod(join(server.root, 'script.sh'), 0o755);
    client = await RawClient.ready(server.port, server.key);
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it('sends started, output in order, then exactly one exit with byte totals', async () => {
    const n = id();
    const result = await client.run(n, { argv: ['sh', '-c', 'printf one; printf two >&2; printf three; exit 3'] });
    expect(result.types[0]).toBe('started');
    expect(result.types.at(-1)).toBe('exit');
    expect(result.types.filter((t) => t === 'exit')).toHaveLength(1);
    expect(result.stdout.toString()).toBe('onethree');
    expect(result.stderr.toString()).toBe('two');
    expect(result.exit).toMatchObject({
      id: n,
      code: 3,
      signal: null,
      timedOut: false,
      truncated: false,
      stdoutBytes: 8,
      stderrBytes: 3,
    });
    expect(Number.isInteger(result.exit?.['durationMs'])).toBe(true);
    expect(result.started?.['pid']).toBeGreaterThan(1);
  });

  it('runs argv without a shell: no expansion of any argument', async () => {
    const result = await client.run(id(), { argv: ['echo', '$HOME', '`id`', '*', ';', 'ls'] });
    expect(result.stdout.toString()).toBe('$HOME `id` * ; ls\n');
  });

  it('keeps argv[0] as the client sent it', async () => {
    const result = await client.run(id(), { argv: ['sh', '-c', 'echo "$0"'] });
    expect(result.stdout.toString()).toBe('sh\n');
  });

  it('gives a clean environment: PATH, HOME, LANG, USER, LOGNAME, SHELL and the request env only', async () => {
    process.env['REXEC_TEST_SECRET'] = 'leak';
    // Parsed JSON, so "__proto__" is an own key, as it arrives on the wire.
    const env = JSON.parse('{"GREETING":"hi there","__proto__":"data","constructor":"also data"}') as Record<
      string,
      string
    >;
    const result = await client.run(id(), { argv: ['env'], env });
    const names = result.stdout
      .toString()
      .trim()
      .split('\n')
      .map((line) => line.slice(0, line.indexOf('=')))
      .sort();
    expect(names).toEqual(
      ['GREETING', 'HOME', 'LANG', 'LOGNAME', 'PATH', 'SHELL', 'USER', '__proto__', 'constructor'].sort(),
    );
    expect(result.stdout.toString()).toContain('GREETING=hi there\n');
    // Of the account the command runs as: rexecd's own here (section 4, revision 2026-12).
    const own = userInfo();
    expect(result.stdout.toString()).toContain(`USER=${own.username}\n`);
    expect(result.stdout.toString()).toContain(`LOGNAME=${own.username}\n`);
    expect(result.stdout.toString()).toMatch(/^SHELL=\/.+$/m);
    expect(result.stdout.toString()).not.toMatch(/^TERM=/m);
    expect(result.stdout.toString()).not.toContain('leak');
  });

  it('refuses loader variables with DENIED and starts nothing', async () => {
    for (const name of [
      'LD_PRELOAD',
      'NODE_OPTIONS',
      'BASH_ENV',
      'PATH',
      'DYLD_INSERT_LIBRARIES',
      'PERL5OPT',
      'PYTHONSTARTUP',
    ]) {
      const n = id();
      const result = await client.run(n, { argv: ['true'], env: { [name]: '/tmp/x' } });
      expect(result.types, name).toEqual(['error']);
      expect(result.error).toMatchObject({ code: 'DENIED', id: n });
    }
  });

  it('reports NOT_FOUND for a missing program and SPAWN_FAILED for one that cannot run', async () => {
    const missing = await client.run(id(), { argv: ['no-such-program-here'] });
    expect(missing.types).toEqual(['error']);
    expect(missing.error).toMatchObject({ code: 'NOT_FOUND' });
    const missingPath = await client.run(id(), { argv: ['./nowhere/prog'] });
    expect(missingPath.error).toMatchObject({ code: 'NOT_FOUND' });
    const notExecutable = await client.run(id(), { argv: ['./plain.txt'] });
    expect(notExecutable.error).toMatchObject({ code: 'SPAWN_FAILED' });
    const directory = await client.run(id(), { argv: ['./sub'] });
    expect(directory.error).toMatchObject({ code: 'SPAWN_FAILED' });
  });

  it('an argv[0] of 40,000 characters gets its error with its id, and the connection goes on', async () => {
    const n = id();
    const result = await client.run(n, { argv: [`/${'a'.repeat(40_000)}`] });
    expect(result.types).toEqual(['error']);
    expect(result.error?.['id']).toBe(n);
    expect((await client.run(id(), { argv: ['echo', 'alive'] })).stdout.toString()).toBe('alive\n');
  });

  // spawn() throws at once for ETXTBSY; after an asynchronous cwd the error must still
  // be the request's, with its id.
  it('a program that cannot start (ETXTBSY) with a cwd gets SPAWN_FAILED with its id', async () => {
    const program = join(server.root, 'sub', 'busy.sh');
    await writeFile(program, '#!/bin/sh\necho never\n');
    await chmod(program, 0o755);
    const handle = await open(program, 'r+');
    try {
      const n = id();
      const result = await client.run(n, { argv: ['./busy.sh'], cwd: 'sub' });
      expect(result.types).toEqual(['error']);
      expect(result.error).toMatchObject({ code: 'SPAWN_FAILED', id: n });
      expect((await client.run(id(), { argv: ['echo', 'alive'] })).stdout.toString()).toBe('alive\n');
    } finally {
      await handle.close();
    }
  });

  it('finds argv[0] only in the server search path, and runs a path relative to cwd', async () => {
    const relative = await client.run(id(), { argv: ['./script.sh', 'arg'] });
    expect(relative.stdout.toString()).toMatch(/^script \S*script\.sh arg\n$/);
    const byName = await client.run(id(), { argv: ['script.sh'] });
    expect(byName.error).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('resolves cwd inside the root and refuses anything outside it', async () => {
    const rel = await client.run(id(), { argv: ['pwd'], cwd: 'sub/deeper' });
    expect(rel.stdout.toString()).toBe(`${join(server.root, 'sub', 'deeper')}\n`);
    const abs = await client.run(id(), { argv: ['pwd'], cwd: join(server.root, 'sub') });
    expect(abs.stdout.toString()).toBe(`${join(server.root, 'sub')}\n`);
    const def = await client.run(id(), { argv: ['pwd'] });
    expect(def.stdout.toString()).toBe(`${server.root}\n`);
    const link = await client.run(id(), { argv: ['pwd', '-P'], cwd: 'inside-link' });
    expect(link.stdout.toString()).toBe(`${join(server.root, 'sub')}\n`);
    for (const cwd of ['/', '..', 'sub/../..', 'escape', '/etc', '/no/such/dir/outside']) {
      const result = await client.run(id(), { argv: ['pwd'], cwd });
      expect(result.types, cwd).toEqual(['error']);
      expect(result.error, cwd).toMatchObject({ code: 'DENIED' });
    }
    const missing = await client.run(id(), { argv: ['pwd'], cwd: 'sub/missing' });
    expect(missing.error).toMatchObject({ code: 'SPAWN_FAILED' });
    const file = await client.run(id(), { argv: ['pwd'], cwd: 'plain.txt' });
    expect(file.error).toMatchObject({ code: 'SPAWN_FAILED' });
  });

  it('refuses shell commands on a server without --allow-shell', async () => {
    const n = id();
    const result = await client.run(n, { command: 'echo hi' });
    expect(result.types).toEqual(['error']);
    expect(result.error).toMatchObject({ code: 'DENIED', id: n });
  });

  it('carries 5 MB of random binary output byte-exact', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const file = join(server.root, 'random.bin');
    await writeFile(file, data);
    const result = await client.run(id(), { argv: ['cat', file] });
    expect(result.stdout.length).toBe(data.length);
    expect(createHash('sha256').update(result.stdout).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
    expect(result.exit).toMatchObject({ code: 0, stdoutBytes: data.length });
  });

  it('echoes 3 MB of stdin through cat byte-exact, in frames sent before started arrives', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const n = id();
    client.send({ type: 'exec', id: n, argv: ['cat'], stdin: true });
    for (let offset = 0; offset < data.length; offset += 256 * 1024) {
      client.send({ type: 'stdin', id: n }, data.subarray(offset, offset + 256 * 1024));
    }
    client.send({ type: 'stdin', id: n, eof: true });
    const result = summarize(await client.collect(n));
    expect(result.stdout.equals(data)).toBe(true);
    expect(result.exit).toMatchObject({ code: 0, stdoutBytes: data.length });
  });

  it('closes stdin at once unless asked: cat sees EOF', async () => {
    const result = await client.run(id(), { argv: ['cat'] });
    expect(result.exit).toMatchObject({ code: 0, stdoutBytes: 0 });
  });

  it('answers stdin without stdin: true, or after eof, with BAD_REQUEST', async () => {
    const n = id();
    client.send({ type: 'exec', id: n, argv: ['sleep', '5'] });
    client.send({ type: 'stdin', id: n }, Buffer.from('x'));
    expect((await client.next('error', n)).header).toMatchObject({ code: 'BAD_REQUEST' });
    client.send({ type: 'signal', id: n, signal: 'SIGKILL' });
    await client.collect(n);
    const m = id();
    client.send({ type: 'exec', id: m, argv: ['sleep', '5'], stdin: true });
    client.send({ type: 'stdin', id: m, eof: true });
    client.send({ type: 'stdin', id: m }, Buffer.from('late'));
    expect((await client.next('error', m)).header).toMatchObject({ code: 'BAD_REQUEST' });
    client.send({ type: 'signal', id: m, signal: 'SIGTERM' });
    const result = summarize(await client.collect(m));
    expect(result.exit).toMatchObject({ code: null, signal: 'SIGTERM', timedOut: false });
  });

  it('answers stdin and signal for an id that is not running with UNKNOWN_ID, not fatal', async () => {
    client.send({ type: 'signal', id: 999_999, signal: 'SIGINT' });
    expect((await client.next('error', 999_999)).header).toMatchObject({ code: 'UNKNOWN_ID' });
    client.send({ type: 'stdin', id: 999_998 }, Buffer.from('x'));
    expect((await client.next('error', 999_998)).header).toMatchObject({ code: 'UNKNOWN_ID' });
    client.send({ type: 'ping' });
    await client.next('pong');
  });

  it('reports DUPLICATE_ID for the id of a running request', async () => {
    const n = id();
    client.send({ type: 'exec', id: n, argv: ['sleep', '5'] });
    client.send({ type: 'exec', id: n, argv: ['true'] });
    expect((await client.next('error', n)).header).toMatchObject({ code: 'DUPLICATE_ID' });
    client.send({ type: 'signal', id: n, signal: 'SIGKILL' });
    const result = summarize(await client.collect(n));
    expect(result.exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    // The id is free again once its exit has been sent.
    const again = await client.run(n, { argv: ['echo', 'reused'] });
    expect(again.stdout.toString()).toBe('reused\n');
  });

  it('delivers signals to the whole process group, even before started is read', async () => {
    const n = id();
    // SIGTERM, not SIGINT: a non-interactive shell starts background jobs with SIGINT
    // ignored, so only a signal they do not ignore shows the whole group is reached.
    client.send({ type: 'exec', id: n, argv: ['sh', '-c', 'sleep 30 & sleep 30; wait'] });
    client.send({ type: 'signal', id: n, signal: 'SIGTERM' });
    const result = summarize(await client.collect(n));
    expect(result.exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('times a command out: SIGTERM to the group, timedOut, code null', async () => {
    const result = await client.run(id(), { argv: ['sleep', '30'], timeoutMs: 200 });
    expect(result.exit).toMatchObject({ timedOut: true, code: null, signal: 'SIGTERM', truncated: false });
  });

  it('a command that stopped itself hears the SIGTERM of its timeout at once (woken), not only the SIGKILL', async () => {
    const result = await client.run(id(), { argv: ['sh', '-c', 'kill -STOP $$; echo woken'], timeoutMs: 200 });
    expect(result.exit).toMatchObject({ timedOut: true, code: null, signal: 'SIGTERM' });
  });

  it('escalates to SIGKILL when the group ignores SIGTERM past the grace period', async () => {
    const result = await client.run(id(), {
      argv: ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'],
      timeoutMs: 200,
    });
    expect(result.stdout.toString()).toBe('ready\n');
    expect(result.exit).toMatchObject({ timedOut: true, code: null, signal: 'SIGKILL' });
  });

  it('a timed-out command: what it left detached (ignoring SIGTERM) still gets SIGKILL', async () => {
    const n = id();
    const script = '(trap "" TERM; exec sleep 4242) </dev/null >/dev/null 2>&1 & echo $!; exec sleep 4343';
    client.send({ type: 'exec', id: n, argv: ['sh', '-c', script], timeoutMs: 200 });
    const left = Number((await client.next('stdout', n)).body.toString().trim());
    const result = summarize(await client.collect(n));
    expect(result.exit).toMatchObject({ timedOut: true });
    // The connection stays open: the kill must not wait for it to close.
    await waitUntil(() => !pidAlive(left), 'the detached process to be killed');
  });

  it('waits for a background child that holds the pipes, then ends it at the timeout', async () => {
    const result = await client.run(id(), { argv: ['sh', '-c', 'echo parent; (sleep 1; echo child) & exit 0'] });
    expect(result.stdout.toString()).toBe('parent\nchild\n');
    expect(result.exit).toMatchObject({ code: 0, timedOut: false });
  });

  it('merge: stderr is the stdout pipe, so the order of writes is kept', async () => {
    const script = 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done';
    const result = await client.run(id(), { argv: ['sh', '-c', script], merge: true });
    expect(result.stdout.toString()).toBe('out1\nerr1\nout2\nerr2\nout3\nerr3\nout4\nerr4\nout5\nerr5\n');
    expect(result.types).not.toContain('stderr');
    expect(result.exit).toMatchObject({ code: 0, stderrBytes: 0, stdoutBytes: 50 });
  });

  it('runs 20 commands at once on one connection, frames interleaved by id', async () => {
    const ids = Array.from({ length: 20 }, () => id());
    for (const n of ids)
      client.send({ type: 'exec', id: n, argv: ['sh', '-c', `sleep 0.2; echo token-${n}; exit ${n % 7}`] });
    const results = await Promise.all(ids.map(async (n) => summarize(await client.collect(n))));
    results.forEach((result, index) => {
      const n = ids[index] as number;
      expect(result.stdout.toString()).toBe(`token-${n}\n`);
      expect(result.exit).toMatchObject({ code: n % 7 });
    });
  });
});

describe('limits', () => {
  it('answers BUSY past max-concurrent and runs again once a slot frees', async () => {
    const server = await startServer({ maxConcurrent: 2 });
    const client = await RawClient.ready(server.port, server.key);
    try {
      client.send({ type: 'exec', id: 1, argv: ['sleep', '30'] });
      client.send({ type: 'exec', id: 2, argv: ['sleep', '30'] });
      client.send({ type: 'exec', id: 3, argv: ['true'] });
      expect((await client.next('error', 3)).header).toMatchObject({ code: 'BUSY' });
      client.send({ type: 'signal', id: 1, signal: 'SIGKILL' });
      await client.collect(1);
      const result = await client.run(3, { argv: ['echo', 'room'] });
      expect(result.stdout.toString()).toBe('room\n');
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('caps output when the policy sets maxOutputBytes: truncated, group ended', async () => {
    const server = await startServer({ maxOutputBytes: 100_000 });
    const client = await RawClient.ready(server.port, server.key);
    try {
      const result = await client.run(1, { argv: ['sh', '-c', 'yes | head -c 10000000; sleep 30'] });
      expect(result.stdout.length).toBe(100_000);
      expect(result.exit).toMatchObject({ truncated: true, timedOut: false, stdoutBytes: 100_000, code: null });
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('caps the run time at the server timeout whatever the request asks', async () => {
    const server = await startServer({ timeoutMs: 300 });
    const client = await RawClient.ready(server.port, server.key);
    try {
      const result = await client.run(1, { argv: ['sleep', '30'], timeoutMs: 3_600_000 });
      expect(result.exit).toMatchObject({ timedOut: true, code: null });
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('runs shell commands with --allow-shell', async () => {
    const server = await startServer({ allowShell: true });
    const client = await RawClient.ready(server.port, server.key);
    try {
      const hello = client.frames[0]?.header;
      expect(hello?.['shell']).toBe(true);
      const result = await client.run(1, { command: 'echo "$((6 * 7))" | tr 4 X' });
      expect(result.stdout.toString()).toBe('X2\n');
    } finally {
      client.close();
      await server.stop();
    }
  });
});
