// File transfers under a lab policy: the policy's identity and sandbox do the I/O (the
// file helper, not rexecd as root), and its rules (files, filesDir, maxFileBytes) hold,
// are named in refusals and are audited. Needs `npm run build` (the helper is bundled).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, leftovers, put, sendData, sha256, startPut } from '../helpers/files.js';
import { IS_ROOT, startLab } from '../helpers/lab.js';
import type { LabServer } from '../helpers/lab.js';
import { fileHelpersOf } from '../helpers/processes.js';
import { pidAlive, RawClient, waitUntil } from '../helpers/raw-client.js';

const HAVE_BWRAP = existsSync('/usr/bin/bwrap');
const NOBODY = 65534;

async function alice(lab: LabServer): Promise<RawClient> {
  return RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
}

describe('a lab policy with runAs (the file helper writes as the lab account)', () => {
  let lab: LabServer;
  let client: RawClient;
  beforeAll(async () => {
    lab = await startLab(
      { allow: '*', limits: { maxFileBytes: 1000, fileSizeBytes: 5000 } },
      { alice: {}, bob: { limits: { maxFileBytes: 10_000 } } },
    );
    client = await alice(lab);
  });
  afterAll(async () => {
    client.close();
    await lab.stop();
  });

  it('writes and reads files; a written file belongs to the runAs user and has its exact mode', async () => {
    const content = randomBytes(1000);
    expect(await put(client, 1, 'hand-in.bin', content, { mode: 0o640 })).toStrictEqual({
      type: 'done',
      id: 1,
      bytes: 1000,
      sha256: sha256(content),
    });
    const info = await stat(join(lab.root, 'hand-in.bin'));
    expect(info.mode & 0o7777).toBe(0o640);
    if (IS_ROOT) expect(info.uid).toBe(NOBODY);
    else expect(info.uid).toBe(process.getuid?.());
    const got = await get(client, 2, 'hand-in.bin');
    expect(got.content.equals(content)).toBe(true);
    expect(got.end).toMatchObject({ type: 'done', bytes: 1000, sha256: sha256(content) });
  });

  it('gives a put the modification time it asks for (mtimeMs), through the helper too', async () => {
    expect(await put(client, 20, 'dated.bin', Buffer.from('old'), { mtimeMs: 1_111_111_111_250 })).toMatchObject({
      type: 'done',
    });
    expect((await stat(join(lab.root, 'dated.bin'))).mtimeMs).toBe(1_111_111_111_250);
  });

  it('holds the size cap: maxFileBytes, and the per-process fileSizeBytes, named in the refusal', async () => {
    expect(await startPut(client, 3, 'too-big.bin', 1001)).toMatchObject({
      code: 'DENIED',
      message: expect.stringContaining('limits.maxFileBytes'),
    });
    expect(existsSync(join(lab.root, 'too-big.bin'))).toBe(false);
    const bob = await RawClient.ready(lab.port, lab.keys['bob'] as string, 'bob');
    expect(await startPut(bob, 1, 'bigger.bin', 6000)).toMatchObject({
      code: 'DENIED',
      message: expect.stringContaining('limits.fileSizeBytes'),
    });
    expect(await put(bob, 2, 'fits.bin', randomBytes(5000))).toMatchObject({ type: 'done', bytes: 5000 });
    bob.close();
    const denied = lab.events.filter(
      (e) => e['event'] === 'denied' && String(e['reason']).includes('limits.maxFileBytes'),
    );
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ user: 'alice', id: 3, request: { put: 'too-big.bin' } });
  });

  it.runIf(IS_ROOT)('cannot read or write what the lab account cannot (rexecd itself could)', async () => {
    await writeFile(join(lab.root, 'root-only.txt'), 'secret', { mode: 0o600 });
    await mkdir(join(lab.root, 'root-dir'), { mode: 0o755 });
    const read = await get(client, 4, 'root-only.txt');
    expect(read.end).toMatchObject({ type: 'error', code: 'SPAWN_FAILED' });
    expect(String(read.end['message'])).toMatch(/permission denied/);
    expect(read.content.length).toBe(0);
    expect(await startPut(client, 5, 'root-dir/new.txt', 1)).toMatchObject({ code: 'SPAWN_FAILED' });
    expect(existsSync(join(lab.root, 'root-dir/new.txt'))).toBe(false);
  });

  it('audits each transfer with its path, bytes, sha256 and result', async () => {
    const content = Buffer.from('audited\n');
    await put(client, 7, 'audited.txt', content);
    await get(client, 8, 'audited.txt');
    await get(client, 9, 'missing.txt');
    const mine = (id: number): Record<string, unknown> | undefined =>
      lab.events.find((e) => (e['event'] === 'put' || e['event'] === 'get') && e['id'] === id && e['user'] === 'alice');
    expect(mine(7)).toMatchObject({
      event: 'put',
      path: 'audited.txt',
      file: join(lab.root, 'audited.txt'),
      bytes: content.length,
      sha256: sha256(content),
      result: 'done',
    });
    expect(mine(8)).toMatchObject({ event: 'get', bytes: content.length, sha256: sha256(content), result: 'done' });
    expect(mine(9)).toMatchObject({ event: 'get', path: 'missing.txt', result: 'refused', code: 'NOT_FOUND' });
  });

  it("removes the helper's temporary file on an early eof, a signal, and a dropped connection", async () => {
    const raw = await alice(lab);
    expect((await startPut(raw, 1, 'short.bin', 100)).type).toBe('ready');
    raw.send({ type: 'data', id: 1, eof: true }, Buffer.alloc(10));
    expect((await raw.next(undefined, 1)).header).toMatchObject({ code: 'BAD_REQUEST' });
    expect((await startPut(raw, 2, 'signalled.bin', 100)).type).toBe('ready');
    raw.send({ type: 'data', id: 2 }, Buffer.alloc(10));
    raw.send({ type: 'signal', id: 2, signal: 'SIGINT' });
    expect((await startPut(raw, 3, 'dropped.bin', 100)).type).toBe('ready');
    raw.send({ type: 'data', id: 3 }, Buffer.alloc(10));
    await waitUntil(async () => (await leftovers(lab.root)).length >= 1, 'a temporary file');
    raw.close();
    await waitUntil(
      async () => (await leftovers(lab.root)).length === 0 && lab.server.runningCount === 0,
      'the helpers to clean up',
    );
    for (const name of ['short.bin', 'signalled.bin', 'dropped.bin'])
      expect(existsSync(join(lab.root, name))).toBe(false);
  });
});

// The file helpers of this process's servers (the lab runs in this process), by pid.
const fileHelpers = (): number[] => fileHelpersOf(process.pid);

describe.runIf(IS_ROOT)('a file helper that hangs while it opens (a student can SIGSTOP their own)', () => {
  // It never says `ready`: once, the transfer waited for ever. Its connection closed, its
  // slot of maxConcurrentPerUser stayed taken for good, the helper lived on, and a
  // draining rexecd never exited.
  async function putWithStoppedHelper(
    lab: LabServer,
    before?: (client: RawClient) => Promise<void>,
  ): Promise<{ client: RawClient; helper: number }> {
    const client = await alice(lab);
    await before?.(client);
    client.send({ type: 'put', id: 1, path: 'x.txt', size: 3 });
    let helper: number | undefined;
    await waitUntil(() => (helper = fileHelpers()[0]) !== undefined, 'the file helper', 20_000, 1);
    process.kill(helper as number, 'SIGSTOP');
    return { client, helper: helper as number };
  }

  it('is ended when the connection closes, and the slot comes back', async () => {
    const lab = await startLab({ allow: '*', limits: { maxConcurrentPerUser: 1 } });
    try {
      const { client, helper } = await putWithStoppedHelper(lab);
      expect(client.frames.some((f) => f.header.type === 'ready')).toBe(false);
      client.close();
      await waitUntil(() => !pidAlive(helper), 'the stopped helper to be ended', 20_000);
      const next = await alice(lab);
      expect((await next.run(1, { argv: ['echo', 'slot'] })).stdout.toString()).toBe('slot\n');
      next.close();
    } finally {
      await lab.stop();
    }
  });

  it('gets SHUTTING_DOWN when the server stops while a command of its connection still runs', async () => {
    const lab = await startLab({ allow: '*' });
    const { client, helper } = await putWithStoppedHelper(lab, async (c) => {
      c.send({ type: 'exec', id: 2, argv: ['sleep', '59'] });
      await c.next('started', 2);
    });
    try {
      const stopped = lab.stop();
      expect((await client.next('error', 1)).header).toMatchObject({ code: 'SHUTTING_DOWN', id: 1 });
      expect((await client.next('exit', 2)).header).toMatchObject({ code: null });
      await stopped;
      await waitUntil(() => !pidAlive(helper), 'the stopped helper to be ended', 20_000);
    } finally {
      if (pidAlive(helper)) process.kill(helper, 'SIGKILL');
      client.close();
    }
  });

  it('is answered SHUTTING_DOWN and ended when the server shuts down with nothing else running', async () => {
    const lab = await startLab({ allow: '*' });
    const { client, helper } = await putWithStoppedHelper(lab);
    try {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        lab.stop(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the server never stopped')), 30_000))),
      ]).finally(() => clearTimeout(timer));
      // Left alive, it kept the rexecd program from exiting.
      await waitUntil(() => !pidAlive(helper), 'the stopped helper to be ended', 20_000);
    } finally {
      if (pidAlive(helper)) process.kill(helper, 'SIGKILL');
    }
    // Nothing else ran, so the server closed the connection at once, after answering it.
    expect((await client.next('error', 1)).header).toMatchObject({ code: 'SHUTTING_DOWN', id: 1 });
    await client.waitClosed();
    // Its helper had started: the put is audited as given up.
    await waitUntil(() => lab.events.find((e) => e['event'] === 'put' && e['id'] === 1), 'the audit line');
    expect(lab.events.filter((e) => e['event'] === 'put' && e['id'] === 1)).toMatchObject([{ result: 'aborted' }]);
    client.close();
  });
});

describe('policy rules: files and filesDir', () => {
  let lab: LabServer;
  let root: string;
  let dir: string;
  beforeAll(async () => {
    // A jail made here, so that filesDir exists when the policy is read.
    dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-files-lab-')));
    await chmod(dir, 0o755);
    root = join(dir, 'jail');
    await mkdir(join(root, 'handin'), { recursive: true });
    await chmod(root, 0o777);
    await chmod(join(root, 'handin'), 0o777);
    await writeFile(join(root, 'notes.txt'), 'not for transfer');
    await symlink('../notes.txt', join(root, 'handin', 'sneaky'));
    lab = await startLab({ root, allow: '*', filesDir: 'handin' }, { alice: {}, bob: { files: false } });
  });
  afterAll(async () => {
    await lab.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('confines transfers to filesDir (paths still start at the root), naming the rule', async () => {
    const client = await alice(lab);
    expect(await put(client, 1, 'handin/work.py', Buffer.from('print(1)\n'))).toMatchObject({ type: 'done' });
    expect(
      await put(client, 2, join(root, 'handin/sub/dir/deep.txt'), Buffer.from('d'), { mkdirs: true }),
    ).toMatchObject({ type: 'done' });
    for (const [id, path] of [
      [3, 'escape.txt'],
      [4, 'notes.txt'],
    ] as const) {
      expect(await startPut(client, id, path, 1, { overwrite: true })).toMatchObject({
        code: 'DENIED',
        message: expect.stringContaining('(rule: filesDir)'),
      });
    }
    expect((await get(client, 5, 'notes.txt')).end).toMatchObject({
      code: 'DENIED',
      message: expect.stringContaining('filesDir'),
    });
    expect((await get(client, 6, 'handin/sneaky')).end).toMatchObject({ code: 'DENIED' });
    expect((await get(client, 7, 'handin/work.py')).content.toString()).toBe('print(1)\n');
    expect(existsSync(join(root, 'escape.txt'))).toBe(false);
    expect(await readFile(join(root, 'notes.txt'), 'utf8')).toBe('not for transfer');
    client.close();
  });

  it('refuses to start with a filesDir that is missing or outside the root', async () => {
    await expect(startLab({ allow: '*', filesDir: 'no-such-dir' })).rejects.toThrow(
      /filesDir: .*no-such-dir does not exist/,
    );
    await expect(startLab({ root, allow: '*', filesDir: dir })).rejects.toThrow(/filesDir: .* is not inside the root/);
  });

  it('refuses every transfer for a user with files: false, and audits it', async () => {
    const bob = await RawClient.ready(lab.port, lab.keys['bob'] as string, 'bob');
    expect(await startPut(bob, 1, 'handin/x', 1)).toMatchObject({
      code: 'DENIED',
      message: expect.stringContaining('(rule: files)'),
    });
    bob.send({ type: 'get', id: 2, path: 'handin/work.py' });
    expect((await bob.next('error', 2)).header).toMatchObject({
      code: 'DENIED',
      message: expect.stringContaining('(rule: files)'),
    });
    // Commands are still allowed.
    expect((await bob.run(3, { argv: ['true'] })).exit).toMatchObject({ code: 0 });
    bob.close();
    expect(lab.events.filter((e) => e['event'] === 'denied' && e['user'] === 'bob')).toHaveLength(2);
  });
});

describe.runIf(HAVE_BWRAP)('sandbox: bwrap', () => {
  let lab: LabServer;
  let client: RawClient;
  beforeAll(async () => {
    lab = await startLab({ allow: '*', sandbox: 'bwrap' });
    client = await alice(lab);
  });
  afterAll(async () => {
    client.close();
    await lab.stop();
  });

  it('transfers still work inside the jail, through its sandboxed helper', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 7);
    expect(await put(client, 1, 'in-jail/data.bin', content, { mkdirs: true, mode: 0o600 })).toMatchObject({
      type: 'done',
      sha256: sha256(content),
    });
    const info = await stat(join(lab.root, 'in-jail/data.bin'));
    expect(info.mode & 0o7777).toBe(0o600);
    if (IS_ROOT) expect(info.uid).toBe(NOBODY);
    expect((await readFile(join(lab.root, 'in-jail/data.bin'))).equals(content)).toBe(true);
    const got = await get(client, 2, 'in-jail/data.bin');
    expect(got.content.equals(content)).toBe(true);
    expect(got.end).toMatchObject({ type: 'done', sha256: sha256(content) });
    expect(await put(client, 3, 'empty', Buffer.alloc(0))).toMatchObject({ type: 'done', bytes: 0 });
  });

  it('refuses what lies outside the jail, and links out of it', async () => {
    await symlink('/etc/hostname', join(lab.root, 'host-link'));
    expect((await get(client, 4, '/etc/hostname')).end).toMatchObject({ code: 'DENIED' });
    expect((await get(client, 5, 'host-link')).end).toMatchObject({ code: 'DENIED' });
    expect(await startPut(client, 6, '/tmp/escape.txt', 1)).toMatchObject({ code: 'DENIED' });
  });

  it('aborts a sandboxed put without a trace', async () => {
    expect((await startPut(client, 7, 'aborted.bin', 1000)).type).toBe('ready');
    sendData(client, 7, Buffer.alloc(0));
    expect((await client.next(undefined, 7)).header).toMatchObject({ code: 'BAD_REQUEST' });
    await waitUntil(
      async () => (await leftovers(lab.root)).length === 0 && lab.server.runningCount === 0,
      'no temporary file',
    );
    expect(existsSync(join(lab.root, 'aborted.bin'))).toBe(false);
  });
});
