// Each lab rule, both sides: the allowed request works, the refused one gets DENIED
// naming the rule, starts no process, and is audited.
import { mkdir, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeProof, keyFromText, newNonce } from '../../src/protocol/auth-proof.js';
import { RawClient, summarize } from '../helpers/raw-client.js';
import { startLab } from '../helpers/lab.js';
import type { LabServer } from '../helpers/lab.js';

describe('lab rules', () => {
  let lab: LabServer;
  let alice: RawClient;
  let bob: RawClient;
  let next = 1;
  const id = (): number => next++;

  beforeAll(async () => {
    lab = await startLab(
      {
        allow: ['echo', 'sh', 'env', 'pwd', 'cat', '/bin/ls'],
        env: { allow: ['TERM', 'LD_PRELOAD'], set: { LAB: 'on', TERM: 'fixed' } },
        limits: { timeoutMs: 300, maxOutputBytes: 50_000, maxStdinBytes: 1000, maxConcurrent: 2 },
      },
      { alice: {}, bob: { allow: '*', shell: true } },
    );
    await mkdir(join(lab.root, 'work'));
    await writeFile(join(lab.root, 'tool.sh'), '#!/bin/sh\necho tool\n');
    await chmod(join(lab.root, 'tool.sh'), 0o755);
    alice = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
    bob = await RawClient.ready(lab.port, lab.keys['bob'] as string, 'bob');
  });
  afterAll(async () => {
    alice.close();
    bob.close();
    await lab.stop();
  });

  function deniedEvents(): Array<Record<string, unknown>> {
    return lab.events.filter((e) => e['event'] === 'denied');
  }

  it('allow: listed names run, others are DENIED before any process exists', async () => {
    const ok = await alice.run(id(), { argv: ['echo', 'allowed'] });
    expect(ok.stdout.toString()).toBe('allowed\n');
    const n = id();
    const refused = await alice.run(n, { argv: ['uname'] });
    expect(refused.types).toEqual(['error']);
    expect(refused.error).toMatchObject({ code: 'DENIED', id: n });
    expect(String(refused.error?.['message'])).toContain('rule: allow');
    expect(deniedEvents().at(-1)).toMatchObject({ user: 'alice', id: n, request: { argv: ['uname'] } });
  });

  it('allow: a path runs only when listed exactly; names resolve only in the policy path', async () => {
    const listed = await alice.run(id(), { argv: ['/bin/ls', '/'] });
    expect(listed.exit).toMatchObject({ code: 0 });
    const unlisted = await alice.run(id(), { argv: ['/bin/echo', 'x'] });
    expect(unlisted.error).toMatchObject({ code: 'DENIED' });
    const local = await alice.run(id(), { argv: ['./tool.sh'] });
    expect(local.error).toMatchObject({ code: 'DENIED' });
    // bob may run anything, by path too.
    const bobs = await bob.run(id(), { argv: ['./tool.sh'] });
    expect(bobs.stdout.toString()).toBe('tool\n');
  });

  // The allowlist is checked before the cwd is looked at: a refused command learns
  // nothing about which directories exist.
  it('allow: a refused command is DENIED even with a cwd that does not exist', async () => {
    const result = await alice.run(id(), { argv: ['id'], cwd: 'no/such/dir' });
    expect(result.error).toMatchObject({ code: 'DENIED' });
  });

  it('shell: only users whose policy says shell: true', async () => {
    const refused = await alice.run(id(), { command: 'echo hi' });
    expect(refused.error).toMatchObject({ code: 'DENIED' });
    expect(String(refused.error?.['message'])).toContain('rule: shell');
    const ok = await bob.run(id(), { command: 'echo "$((1+2))"' });
    expect(ok.stdout.toString()).toBe('3\n');
  });

  it('env: listed names pass, fixed values win, others and loader variables are DENIED', async () => {
    const result = await alice.run(id(), { argv: ['env'], env: { TERM: 'vt100' } });
    const env = result.stdout.toString();
    expect(env).toContain('LAB=on\n');
    expect(env).toContain('TERM=fixed\n');
    const other = await alice.run(id(), { argv: ['env'], env: { EDITOR: 'vi' } });
    expect(other.error).toMatchObject({ code: 'DENIED' });
    expect(String(other.error?.['message'])).toContain('rule: env.allow');
    // Listed or not, a loader variable stays refused.
    const loader = await alice.run(id(), { argv: ['env'], env: { LD_PRELOAD: '/tmp/x.so' } });
    expect(loader.error).toMatchObject({ code: 'DENIED' });
  });

  it('root: commands start in the jail; a cwd outside it is DENIED', async () => {
    const here = await alice.run(id(), { argv: ['pwd'] });
    expect(here.stdout.toString()).toBe(`${lab.root}\n`);
    const inside = await alice.run(id(), { argv: ['pwd'], cwd: 'work' });
    expect(inside.stdout.toString()).toBe(`${join(lab.root, 'work')}\n`);
    const outside = await alice.run(id(), { argv: ['pwd'], cwd: lab.dir });
    expect(outside.error).toMatchObject({ code: 'DENIED' });
  });

  it('limits.timeoutMs caps what a request asks for', async () => {
    const result = await alice.run(id(), { argv: ['sh', '-c', 'sleep 30'], timeoutMs: 60_000 });
    expect(result.exit).toMatchObject({ timedOut: true, code: null });
  });

  it('limits.maxOutputBytes ends the group with truncated: true', async () => {
    const result = await alice.run(id(), { argv: ['sh', '-c', 'while :; do echo yyyyyyyyyyyyyyyyyyyyyy; done'] });
    expect(result.stdout.length).toBe(50_000);
    expect(result.exit).toMatchObject({ truncated: true, stdoutBytes: 50_000 });
  });

  it('limits.maxStdinBytes gives the process exactly the first bytes, then end of file, and exit says so', async () => {
    const n = id();
    alice.send({ type: 'exec', id: n, argv: ['cat'], stdin: true });
    alice.send({ type: 'stdin', id: n }, Buffer.alloc(600, 'a'));
    alice.send({ type: 'stdin', id: n }, Buffer.alloc(600, 'b'));
    // Sent before the client could know: dropped without another error.
    alice.send({ type: 'stdin', id: n, eof: true }, Buffer.alloc(600, 'c'));
    const frames = await alice.collect(n);
    const errors = frames.filter((f) => f.header.type === 'error');
    expect(errors.map((f) => f.header)).toMatchObject([{ code: 'DENIED', id: n }]);
    expect(String(errors[0]?.header['message'])).toContain('maxStdinBytes');
    const output = Buffer.concat(frames.filter((f) => f.header.type === 'stdout').map((f) => f.body)).toString();
    expect(output).toBe(`${'a'.repeat(600)}${'b'.repeat(400)}`);
    const exit = frames.find((f) => f.header.type === 'exit');
    expect(exit?.header).toMatchObject({ code: 0, stdoutBytes: 1000, stdinTruncated: true, stdinBytes: 1000 });
  });

  it('exit has no stdinTruncated when the input fits the limit', async () => {
    const n = id();
    alice.send({ type: 'exec', id: n, argv: ['cat'], stdin: true });
    alice.send({ type: 'stdin', id: n, eof: true }, Buffer.alloc(1000, 'a'));
    const { exit } = summarize(await alice.collect(n));
    expect(exit).toMatchObject({ code: 0, stdoutBytes: 1000 });
    expect(exit).not.toHaveProperty('stdinTruncated');
    expect(exit).not.toHaveProperty('stdinBytes');
  });

  it('limits.maxConcurrent: BUSY past the per-connection limit', async () => {
    const [a, b, c] = [id(), id(), id()];
    alice.send({ type: 'exec', id: a, argv: ['sh', '-c', 'sleep 30'] });
    alice.send({ type: 'exec', id: b, argv: ['sh', '-c', 'sleep 30'] });
    alice.send({ type: 'exec', id: c, argv: ['echo'] });
    expect((await alice.next('error', c)).header).toMatchObject({ code: 'BUSY' });
    alice.send({ type: 'signal', id: a, signal: 'SIGKILL' });
    alice.send({ type: 'signal', id: b, signal: 'SIGKILL' });
    await alice.collect(a);
    await alice.collect(b);
  });
});

describe('per-user counts across connections', () => {
  it('maxConcurrentPerUser gives BUSY on a second connection; maxConnectionsPerUser refuses a third', async () => {
    const lab = await startLab({ allow: '*', limits: { maxConcurrentPerUser: 1, maxConnectionsPerUser: 2 } });
    try {
      const key = lab.keys['alice'] as string;
      const one = await RawClient.ready(lab.port, key, 'alice');
      const two = await RawClient.ready(lab.port, key, 'alice');
      one.send({ type: 'exec', id: 1, argv: ['sleep', '30'] });
      await one.next('started', 1);
      const busy = await two.run(1, { argv: ['echo'] });
      expect(busy.error).toMatchObject({ code: 'BUSY' });
      expect(String(busy.error?.['message'])).toContain('maxConcurrentPerUser');
      // bob is not counted with alice.
      const bob = await RawClient.ready(lab.port, lab.keys['bob'] as string, 'bob');
      expect((await bob.run(1, { argv: ['echo', 'bob'] })).stdout.toString()).toBe('bob\n');
      const three = await RawClient.open(lab.port);
      await three.next('hello');
      const snonce = Buffer.from(String(three.frames[0]?.header['nonce']), 'base64');
      const cnonce = newNonce();
      three.send({
        type: 'auth',
        user: 'alice',
        cnonce: cnonce.toString('base64'),
        proof: computeProof(keyFromText(key), 'client', 'alice', snonce, cnonce),
      });
      expect((await three.next('error')).header).toMatchObject({ code: 'TOO_MANY_CONNECTIONS' });
      await three.waitClosed();
      const reasons = lab.events.filter((e) => e['event'] === 'denied').map((e) => String(e['reason']));
      expect(reasons.some((r) => r.includes('maxConcurrentPerUser'))).toBe(true);
      expect(reasons.some((r) => r.includes('maxConnectionsPerUser'))).toBe(true);
      for (const client of [one, two, bob]) client.close();
    } finally {
      await lab.stop();
    }
  });

  it('maxConcurrentPerUser holds while starts are under way on several connections (no overshoot)', async () => {
    // The attack: one user opens six connections and asks for six terminal commands at
    // once. A terminal's helper takes tens of milliseconds to start; a slot counted only
    // once the process runs let every one of them through.
    const lab = await startLab({ allow: '*', limits: { maxConcurrentPerUser: 2 } });
    const clients: RawClient[] = [];
    try {
      const key = lab.keys['alice'] as string;
      for (let i = 0; i < 6; i++) clients.push(await RawClient.ready(lab.port, key, 'alice'));
      for (const client of clients) {
        client.send({ type: 'exec', id: 1, argv: ['sleep', '30'], pty: { cols: 80, rows: 24 } });
      }
      const answers = await Promise.all(
        clients.map(async (client) => {
          const frame = await client.next(undefined, 1);
          return frame.header.type === 'error' ? String(frame.header['code']) : frame.header.type;
        }),
      );
      expect(answers.filter((a) => a === 'started')).toHaveLength(2);
      expect(answers.filter((a) => a === 'BUSY')).toHaveLength(4);
    } finally {
      for (const client of clients) client.close();
      await lab.stop();
    }
  });

  it('maxConnections (server-wide) counts everyone', async () => {
    const lab = await startLab({ allow: '*', maxConnections: 1 });
    try {
      const one = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      const two = await RawClient.open(lab.port);
      expect((await two.next()).header).toMatchObject({ type: 'error', code: 'TOO_MANY_CONNECTIONS' });
      one.close();
    } finally {
      await lab.stop();
    }
  });
});
