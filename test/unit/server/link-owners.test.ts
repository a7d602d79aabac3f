// The symlink owner rule on a real file system, with files and links given to made-up
// uids (root can chown to any): whose links are followed where, on every part of a path,
// for get and put, and a link swapped between the check and the open.
import { lchown, mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLinkOwners, confirmSameFile } from '../../../src/server/files/link-owners.js';
import { openLocalGet } from '../../../src/server/files/local-files.js';
import type { FileScope } from '../../../src/server/files/target.js';

const IS_ROOT = process.getuid?.() === 0;
// Uids with no account: the messages show the numbers.
const ALICE = 40_001;
const BOB = 40_002;
const TEACHER = 40_003;

describe.runIf(IS_ROOT)('checkLinkOwners', () => {
  let root: string;
  let scope: FileScope;
  const denied = (path: string, op: 'get' | 'put' = 'get'): Promise<unknown> =>
    expect(checkLinkOwners(scope, op, path, 7, TEACHER)).rejects.toMatchObject({
      code: 'DENIED',
      id: 7,
      message: expect.stringContaining('(rule: symlink owner)'),
    });

  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'rexec-links-')));
    scope = { root, scope: root, filesDir: undefined };
    const own = async (path: string, uid: number): Promise<void> => lchown(join(root, path), uid, uid);
    for (const [dir, uid] of [
      ['alice', ALICE],
      ['bob', BOB],
      ['teacher', TEACHER],
    ] as const) {
      await mkdir(join(root, dir));
      await writeFile(join(root, dir, 'hw.txt'), `${dir}-work`);
      await own(dir, uid);
      await own(`${dir}/hw.txt`, uid);
    }
    await mkdir(join(root, 'alice', 'sub'));
    await own('alice/sub', ALICE);
    const link = async (target: string, path: string, uid: number): Promise<void> => {
      await symlink(target, join(root, path));
      await own(path, uid);
    };
    await link('../bob/hw.txt', 'alice/to-bob-file', ALICE);
    await link('..', 'alice/up', ALICE);
    await link(join(root, 'bob'), 'alice/to-bob', ALICE);
    await link('hw.txt', 'alice/own', ALICE);
    await link('sub', 'alice/to-sub', ALICE);
    await link('missing.txt', 'alice/dangling', ALICE);
    await link('loop-b', 'alice/loop-a', ALICE);
    await link('loop-a', 'alice/loop-b', ALICE);
    await link('../bob/hw.txt', 'teacher/bobs', TEACHER);
    await link('bob/hw.txt', 'latest', 0);
    // A link of bob's that leads to alice's file: not bob's to hand out.
    await link('../alice/hw.txt', 'bob/to-alice', BOB);
    // A file of alice's in bob's directory: a put onto it writes into bob's directory.
    await writeFile(join(root, 'bob', 'from-alice.txt'), 'alice-in-bob');
    await own('bob/from-alice.txt', ALICE);
    await chown(root, 0, 0);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("a student's link to another's file, or through a directory above, or to another's directory", async () => {
    await denied('alice/to-bob-file');
    await denied('alice/up/bob/hw.txt');
    await denied('alice/to-bob/hw.txt');
    await denied('bob/to-alice');
    await expect(checkLinkOwners(scope, 'get', 'alice/to-bob-file', 7, TEACHER)).rejects.toThrow(
      `"alice/to-bob-file" leads through a symbolic link of ${ALICE} to a file of ${BOB}`,
    );
  });

  it("followed: a link to its owner's own file, the follower's own links, root's links, plain paths", async () => {
    for (const path of [
      'alice/own',
      'alice/to-sub/../hw.txt',
      'teacher/bobs',
      'latest',
      'bob/hw.txt',
      `${root}/alice/hw.txt`,
    ]) {
      expect(await checkLinkOwners(scope, 'get', path, 7, TEACHER), path).toMatch(/^\d+:\d+$/);
    }
  });

  it('takes "." and ".." of the request as the transfer does (lexically), those inside links physically', async () => {
    // alice/to-bob/../bob/hw.txt is alice/bob/hw.txt for the transfer: missing, nothing to check.
    expect(await checkLinkOwners(scope, 'get', 'alice/to-bob/../bob/hw.txt', 7, TEACHER)).toBeUndefined();
    await denied('alice/./to-bob/./hw.txt');
  });

  it("put: not into another account's directory through a link, also where directories would be made", async () => {
    await denied('alice/up/bob/new.txt', 'put');
    // Onto a file of the link's owner that lies in another account's directory: the directory counts.
    await denied('alice/to-bob/from-alice.txt', 'put');
    await expect(checkLinkOwners(scope, 'put', 'alice/to-bob/new.txt', 7, TEACHER)).rejects.toThrow(
      `"alice/to-bob/new.txt" leads through a symbolic link of ${ALICE} to a directory of ${BOB}`,
    );
    // Below a file: the directories would be made there (the transfer then fails), in bob's.
    await denied('alice/to-bob/hw.txt/new.txt', 'put');
    await denied('alice/to-bob/new/deeper/new.txt', 'put');
    expect(await checkLinkOwners(scope, 'put', 'alice/to-sub/new.txt', 7, TEACHER)).toBeUndefined();
    expect(await checkLinkOwners(scope, 'put', 'alice/to-sub/a/b/new.txt', 7, TEACHER)).toBeUndefined();
    // The final component of a put is never followed: replacing a link is the transfer's refusal.
    expect(await checkLinkOwners(scope, 'put', 'alice/to-bob-file', 7, TEACHER)).toBeUndefined();
  });

  it('leaves to the transfer what it reports itself: missing files, loops, paths outside the root, too long or of a directory form', async () => {
    const tooLong = `${'alice/up/'.repeat(500)}alice/to-bob-file`;
    // PATH_MAX (4096) characters or more, however it resolves (the transfer says it is too long).
    const atLimit = `alice/${'/'.repeat(4079)}to-bob-file`;
    expect(atLimit).toHaveLength(4096);
    for (const path of [
      'alice/dangling',
      'alice/to-bob/missing.txt',
      'alice/loop-a',
      '/etc/passwd',
      '../x',
      'alice/to-bob/',
      'alice/to-bob/.',
      'alice/up/..',
      tooLong,
      atLimit,
    ]) {
      expect(await checkLinkOwners(scope, 'get', path, 7, TEACHER), path.slice(0, 80)).toBeUndefined();
    }
    await denied(`alice/${'/'.repeat(4078)}to-bob-file`);
    // A name longer than the kernel takes: left to the transfer, for a put too.
    expect(await checkLinkOwners(scope, 'put', `alice/to-bob/${'n'.repeat(300)}`, 7, TEACHER)).toBeUndefined();
  });

  it("the attack: a chain of alice's links padded with ./ past the steps the check takes, to bob's file", async () => {
    // Nine links, each target ~4000 characters of "./" (2000 components): the kernel
    // resolves it (nine links, each target under PATH_MAX), the walk has 18,000 steps.
    const pad = './'.repeat(2000);
    for (let i = 0; i < 9; i += 1) {
      const next = i === 8 ? '../bob/hw.txt' : `pad${i + 1}`;
      await symlink(`${pad}${next}`, join(root, 'alice', `pad${i}`));
      await lchown(join(root, 'alice', `pad${i}`), ALICE, ALICE);
    }
    const opened = await openLocalGet(scope, 7, 'alice/pad0');
    opened.close();
    await expect(checkLinkOwners(scope, 'get', 'alice/pad0', 7, TEACHER)).rejects.toMatchObject({
      code: 'DENIED',
      id: 7,
      message: '"alice/pad0" takes more than 16384 steps to resolve: it is not followed (rule: symlink owner)',
    });
  });

  it("takes up to 16384 steps (every component of the path and of its links' targets), and not one more", async () => {
    // Nine links of alice's to her own file, padded with "./" so that the walk takes
    // exactly `steps` (each target under the 4095 characters a link may hold).
    const chain = async (name: string, steps: number): Promise<string> => {
      const links = 9;
      const total = steps - join(root, 'alice', `${name}0`).split('/').length;
      for (let i = 0; i < links; i += 1) {
        const parts = Math.floor(total / links) + (i < total % links ? 1 : 0);
        const next = i === links - 1 ? 'hw.txt' : `${name}${i + 1}`;
        await symlink(`${'./'.repeat(parts - 1)}${next}`, join(root, 'alice', `${name}${i}`));
        await lchown(join(root, 'alice', `${name}${i}`), ALICE, ALICE);
      }
      return `alice/${name}0`;
    };
    expect(await checkLinkOwners(scope, 'get', await chain('exact', 16_384), 7, TEACHER)).toMatch(/^\d+:\d+$/);
    await expect(checkLinkOwners(scope, 'get', await chain('over', 16_385), 7, TEACHER)).rejects.toMatchObject({
      message: expect.stringContaining('takes more than 16384 steps'),
    });
  });

  it('a chain of 40 links (as many as the kernel follows) is checked link by link', async () => {
    for (let i = 0; i < 40; i += 1) {
      await symlink(i === 39 ? '../bob/hw.txt' : `chain${i + 1}`, join(root, 'alice', `chain${i}`));
      await lchown(join(root, 'alice', `chain${i}`), ALICE, ALICE);
    }
    const opened = await openLocalGet(scope, 7, 'alice/chain0');
    opened.close();
    await denied('alice/chain0');
    // One more is a loop for the kernel: left to the transfer, which refuses it.
    await symlink('chain0', join(root, 'alice', 'chain-1'));
    await lchown(join(root, 'alice', 'chain-1'), ALICE, ALICE);
    expect(await checkLinkOwners(scope, 'get', 'alice/chain-1', 7, TEACHER)).toBeUndefined();
    await expect(openLocalGet(scope, 7, 'alice/chain-1')).rejects.toBeDefined();
  });

  it('a link swapped between the check and the open is caught: the opened file is not the checked one', async () => {
    await symlink('hw.txt', join(root, 'alice', 'swap'));
    await lchown(join(root, 'alice', 'swap'), ALICE, ALICE);
    const checked = await checkLinkOwners(scope, 'get', 'alice/swap', 7, TEACHER);
    expect(checked).toMatch(/^\d+:\d+$/);
    await symlink('../bob/hw.txt', join(root, 'alice', 'swap.new'));
    await rename(join(root, 'alice', 'swap.new'), join(root, 'alice', 'swap'));
    const opened = await openLocalGet(scope, 7, 'alice/swap');
    try {
      expect(() => confirmSameFile(checked, opened.identity, 'alice/swap', 7)).toThrow(
        expect.objectContaining({
          code: 'DENIED',
          id: 7,
          message: '"alice/swap" changed while it was opened (rule: symlink owner)',
        }),
      );
    } finally {
      opened.close();
    }
    // Unswapped, the checked file is the opened one.
    const checkedOwn = await checkLinkOwners(scope, 'get', 'alice/own', 8, TEACHER);
    const own = await openLocalGet(scope, 8, 'alice/own');
    expect(own.identity).toBe(checkedOwn);
    expect(() => confirmSameFile(checkedOwn, own.identity, 'alice/own', 8)).not.toThrow();
    // Nothing was checked (the transfer reports what is wrong itself): nothing to compare.
    expect(() => confirmSameFile(undefined, own.identity, 'alice/own', 8)).not.toThrow();
    own.close();
  });
});
