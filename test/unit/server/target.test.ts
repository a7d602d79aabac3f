// Where a transfer's path leads (docs/protocol.md, file transfers), on real files:
// the real path of the parent must be inside the root and the policy's filesDir
// (outside is DENIED, whether or not it exists, and never EXISTS); a put never writes
// through a final link; a get follows one only into the scope. rexecd runs these
// checks itself, and the file helper runs the same module under a policy's runAs and
// sandbox, so these tests are the helper's too.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { link, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import { ioError, makeDirs, resolveGetSource, resolvePutTarget } from '../../../src/server/files/target.js';
import type { FileScope } from '../../../src/server/files/target.js';

let base: string;
let root: string;
let sibling: string;
let whole: FileScope;
let handin: FileScope;

const NEW = { overwrite: false, mkdirs: false };
const REPLACE = { overwrite: true, mkdirs: false };
const MKDIRS = { overwrite: false, mkdirs: true };

/** The RexecError a call rejects with. */
async function failure(call: () => Promise<unknown>): Promise<RexecError> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(RexecError);
    return error as RexecError;
  }
  throw new Error('expected a RexecError, got a result');
}

/** The error a real file system call fails with. */
async function systemErrorOf(call: () => Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await call();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected the call to fail');
}

async function systemError(call: () => Promise<unknown>): Promise<string> {
  return (await systemErrorOf(call)).message;
}

/**
 * Runs `call` while the "locked" directory cannot be searched and "readonly" cannot be
 * written: as root (which may do anything) with the effective ids of nobody, else with
 * the directories' modes taken away.
 */
async function restricted<T>(call: () => Promise<T>): Promise<T> {
  const asRoot = process.geteuid?.() === 0;
  if (asRoot) {
    process.setegid?.(65534);
    process.seteuid?.(65534);
  } else {
    chmodSync(join(root, 'locked'), 0o000);
    chmodSync(join(root, 'readonly'), 0o555);
  }
  try {
    return await call();
  } finally {
    if (asRoot) {
      process.seteuid?.(0);
      process.setegid?.(0);
    } else {
      chmodSync(join(root, 'locked'), 0o700);
      chmodSync(join(root, 'readonly'), 0o755);
    }
  }
}

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'rexec-target-')));
  chmodSync(base, 0o755);
  root = join(base, 'lab');
  sibling = join(base, 'lab-other');
  for (const d of [
    join(root, 'sub'),
    join(root, 'handin', 'deep'),
    join(root, 'handin-old'),
    join(root, 'readonly'),
    join(root, 'locked'),
    join(sibling, 'inner'),
  ]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(join(root, 'file.txt'), 'inside');
  writeFileSync(join(root, 'handin', 'hw.txt'), 'homework');
  writeFileSync(join(root, 'locked', 'secret.txt'), 'locked');
  writeFileSync(join(sibling, 'secret.txt'), 'outside');
  chmodSync(join(root, 'locked'), 0o700);
  execFileSync('mkfifo', [join(root, 'fifo')]);
  // Links in the root: to a sibling dir and file, inside, dangling inside and outside, a loop.
  symlinkSync(sibling, join(root, 'to-sibling'));
  symlinkSync(join(sibling, 'secret.txt'), join(root, 'to-secret'));
  symlinkSync(join(sibling, 'gone.txt'), join(root, 'dangling-out'));
  symlinkSync('gone.txt', join(root, 'dangling-in'));
  symlinkSync('file.txt', join(root, 'to-file'));
  symlinkSync('sub', join(root, 'to-sub'));
  symlinkSync(join(root, 'handin', 'hw.txt'), join(root, 'to-hw'));
  symlinkSync(join(root, 'handin', 'gone.txt'), join(root, 'handin', 'dangling-hw'));
  symlinkSync(join(root, 'gone-dir'), join(root, 'dangling-dir'));
  symlinkSync('loop', join(root, 'loop'));
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
  whole = { root, scope: root, filesDir: undefined };
  handin = { root, scope: join(root, 'handin'), filesDir: 'handin' };
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('put: where it writes', () => {
  it('a relative path from the root, or an absolute one inside it, to a new file', async () => {
    expect(await resolvePutTarget(whole, 'new.txt', 1, NEW)).toEqual({
      dir: root,
      name: 'new.txt',
      path: join(root, 'new.txt'),
      existing: 'none',
    });
    expect(await resolvePutTarget(whole, join(root, 'sub', 'new.txt'), 1, NEW)).toMatchObject({
      dir: join(root, 'sub'),
      path: join(root, 'sub', 'new.txt'),
    });
    expect(await resolvePutTarget(whole, 'to-sub/new.txt', 1, NEW)).toMatchObject({
      dir: join(root, 'sub'),
      path: join(root, 'sub', 'new.txt'),
    });
  });

  it('a path whose form names a directory is BAD_REQUEST before anything is looked up', async () => {
    for (const path of ['sub/', '.', '..', 'sub/.', 'sub/..', '/', `${sibling}/`]) {
      const error = await failure(() => resolvePutTarget(whole, path, 2, NEW));
      expect(error, path).toMatchObject({
        code: 'BAD_REQUEST',
        id: 2,
        message: `${JSON.stringify(path)} names a directory, not a file`,
      });
    }
  });

  // The sibling /…/lab-other starts with the root's name /…/lab.
  it.each([
    ['in the sibling, absolute', () => join(sibling, 'x.txt')],
    ['over a file in the sibling', () => join(sibling, 'secret.txt')],
    ['in the sibling through ..', () => '../lab-other/x.txt'],
    ['in the sibling through a link', () => 'to-sibling/x.txt'],
    ['over a file through a link to the sibling', () => 'to-sibling/secret.txt'],
    ['in a missing directory of the sibling', () => join(sibling, 'missing', 'x.txt')],
    ['in the parent of the root', () => join(base, 'x.txt')],
  ])('outside the root is DENIED, never EXISTS: %s', async (_what, path) => {
    for (const options of [NEW, REPLACE, MKDIRS]) {
      const error = await failure(() => resolvePutTarget(whole, path(), 3, options));
      expect(error).toMatchObject({
        code: 'DENIED',
        id: 3,
        message: `${JSON.stringify(path())} is outside the server's root`,
      });
    }
    expect(existsSync(join(sibling, 'missing'))).toBe(false);
  });

  it('a parent that leads through a dangling link is DENIED, wherever it points', async () => {
    for (const path of ['dangling-dir/x.txt', 'dangling-out/x.txt', 'dangling-dir/a/b.txt']) {
      const error = await failure(() => resolvePutTarget(whole, path, 4, MKDIRS));
      expect(error, path).toMatchObject({
        code: 'DENIED',
        id: 4,
        message: `${JSON.stringify(path)} leads through a dangling symbolic link`,
      });
    }
    expect(existsSync(join(root, 'gone-dir'))).toBe(false);
  });

  it('a missing parent without mkdirs is NOT_FOUND; a parent that is a file is NOT_FOUND', async () => {
    expect(await failure(() => resolvePutTarget(whole, 'missing/x.txt', 5, NEW))).toMatchObject({
      code: 'NOT_FOUND',
      id: 5,
      message: 'the directory of "missing/x.txt" does not exist (put with mkdirs to create it)',
    });
    for (const [path, options] of [
      ['file.txt/x.txt', NEW],
      ['file.txt/x.txt', MKDIRS],
      ['file.txt/a/x.txt', MKDIRS],
      ['to-file/x.txt', NEW],
    ] as const) {
      expect(await failure(() => resolvePutTarget(whole, path, 5, options)), path).toMatchObject({
        code: 'NOT_FOUND',
        id: 5,
        message: `the parent of ${JSON.stringify(path)} is not a directory`,
      });
    }
  });

  it('mkdirs creates the missing parents, mode 0755 less the umask', async () => {
    const target = await resolvePutTarget(whole, 'made/a/b/x.txt', 6, MKDIRS);
    expect(target).toEqual({
      dir: join(root, 'made', 'a', 'b'),
      name: 'x.txt',
      path: join(root, 'made', 'a', 'b', 'x.txt'),
      existing: 'none',
    });
    expect(statSync(join(root, 'made', 'a', 'b')).isDirectory()).toBe(true);
    const umask = process.umask();
    expect(statSync(join(root, 'made', 'a')).mode & 0o777).toBe(0o755 & ~umask);
    expect((await resolvePutTarget(whole, 'to-sub/new/x.txt', 6, MKDIRS)).dir).toBe(join(root, 'sub', 'new'));
  });

  it('what is at the target: EXISTS without overwrite, whatever it is', async () => {
    for (const path of ['file.txt', 'sub', 'fifo', 'to-file', 'to-secret', 'dangling-out']) {
      expect(await failure(() => resolvePutTarget(whole, path, 7, NEW)), path).toMatchObject({
        code: 'EXISTS',
        id: 7,
        message: `${JSON.stringify(path)} already exists (put with overwrite to replace a file)`,
      });
    }
  });

  it('with overwrite: a file is replaced; a link is DENIED; a directory or FIFO is BAD_REQUEST', async () => {
    expect(await resolvePutTarget(whole, 'file.txt', 8, REPLACE)).toMatchObject({
      path: join(root, 'file.txt'),
      existing: 'file',
    });
    for (const path of ['to-file', 'to-secret', 'dangling-out']) {
      expect(await failure(() => resolvePutTarget(whole, path, 8, REPLACE)), path).toMatchObject({
        code: 'DENIED',
        id: 8,
        message: `${JSON.stringify(path)} is a symbolic link: a put never writes through a link`,
      });
    }
    expect(await failure(() => resolvePutTarget(whole, 'sub', 8, REPLACE))).toMatchObject({
      code: 'BAD_REQUEST',
      id: 8,
      message: '"sub" is a directory',
    });
    expect(await failure(() => resolvePutTarget(whole, 'fifo', 8, REPLACE))).toMatchObject({
      code: 'BAD_REQUEST',
      id: 8,
      message: '"fifo" is not a regular file',
    });
  });
});

describe('put and get under filesDir', () => {
  it('inside filesDir is allowed, paths still from the root', async () => {
    expect((await resolvePutTarget(handin, 'handin/new.txt', 9, NEW)).path).toBe(join(root, 'handin', 'new.txt'));
    expect((await resolvePutTarget(handin, 'handin/deep/new.txt', 9, NEW)).dir).toBe(join(root, 'handin', 'deep'));
    expect((await resolveGetSource(handin, 'handin/hw.txt', 9)).path).toBe(join(root, 'handin', 'hw.txt'));
  });

  // handin-old starts with filesDir's name handin.
  it.each(['new.txt', 'sub/new.txt', 'handin-old/new.txt', 'handin/../file.txt'])(
    '%s, in the root but not in filesDir, is DENIED naming the rule',
    async (path) => {
      const error = await failure(() => resolvePutTarget(handin, path, 10, MKDIRS));
      expect(error).toMatchObject({
        code: 'DENIED',
        id: 10,
        rule: 'filesDir',
        message: `${JSON.stringify(path)} is outside handin (rule: filesDir)`,
      });
    },
  );

  it('mkdirs outside filesDir creates nothing', async () => {
    expect(await failure(() => resolvePutTarget(handin, 'sub/made/x.txt', 11, MKDIRS))).toMatchObject({
      code: 'DENIED',
    });
    expect(existsSync(join(root, 'sub', 'made'))).toBe(false);
  });

  it('outside the root is still "outside the root"', async () => {
    expect(await failure(() => resolvePutTarget(handin, join(sibling, 'x.txt'), 12, NEW))).toMatchObject({
      code: 'DENIED',
      message: `${JSON.stringify(join(sibling, 'x.txt'))} is outside the server's root`,
    });
  });

  it('a get through a link from filesDir into the rest of the root is DENIED naming the rule', async () => {
    symlinkSync(join(root, 'file.txt'), join(root, 'handin', 'to-root-file'));
    expect(await failure(() => resolveGetSource(handin, 'handin/to-root-file', 13))).toMatchObject({
      code: 'DENIED',
      message: '"handin/to-root-file" is outside handin (rule: filesDir)',
    });
    expect(await failure(() => resolveGetSource(handin, 'file.txt', 13))).toMatchObject({
      code: 'DENIED',
      message: '"file.txt" is outside handin (rule: filesDir)',
    });
  });

  it('without a filesDir name the message names the scope', async () => {
    const scope: FileScope = { root, scope: join(root, 'handin'), filesDir: undefined };
    expect(await failure(() => resolvePutTarget(scope, 'new.txt', 14, NEW))).toMatchObject({
      message: `"new.txt" is outside ${join(root, 'handin')} (rule: filesDir)`,
    });
  });
});

describe('get: what it reads', () => {
  it('a regular file inside, by relative or absolute path', async () => {
    expect(await resolveGetSource(whole, 'file.txt', 15)).toEqual({
      dir: root,
      name: 'file.txt',
      path: join(root, 'file.txt'),
    });
    expect((await resolveGetSource(whole, join(root, 'handin', 'hw.txt'), 15)).path).toBe(
      join(root, 'handin', 'hw.txt'),
    );
  });

  it('a final link into the scope is followed to its real file', async () => {
    expect(await resolveGetSource(whole, 'to-file', 16)).toEqual({
      dir: root,
      name: 'file.txt',
      path: join(root, 'file.txt'),
    });
    expect(await resolveGetSource(whole, 'to-hw', 16)).toEqual({
      dir: join(root, 'handin'),
      name: 'hw.txt',
      path: join(root, 'handin', 'hw.txt'),
    });
  });

  it('a final link out of the root is DENIED', async () => {
    expect(await failure(() => resolveGetSource(whole, 'to-secret', 17))).toMatchObject({
      code: 'DENIED',
      id: 17,
      message: '"to-secret" is outside the server\'s root',
    });
  });

  it('outside the root is DENIED, whether or not it exists', async () => {
    for (const path of [
      join(sibling, 'secret.txt'),
      join(sibling, 'gone.txt'),
      '../lab-other/secret.txt',
      'to-sibling/secret.txt',
      'to-sibling/gone.txt',
    ]) {
      expect(await failure(() => resolveGetSource(whole, path, 18)), path).toMatchObject({
        code: 'DENIED',
        message: `${JSON.stringify(path)} is outside the server's root`,
      });
    }
  });

  it('a dangling final link is NOT_FOUND when it points inside, DENIED when it points outside', async () => {
    expect(await failure(() => resolveGetSource(whole, 'dangling-in', 19))).toMatchObject({
      code: 'NOT_FOUND',
      id: 19,
      message: '"dangling-in": no such file',
    });
    expect(await failure(() => resolveGetSource(whole, 'dangling-out', 19))).toMatchObject({
      code: 'DENIED',
      message: '"dangling-out" is outside the server\'s root',
    });
    expect(await failure(() => resolveGetSource(handin, 'handin/dangling-hw', 19))).toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('a missing file is NOT_FOUND; below a file too; a get creates no directory', async () => {
    expect(await failure(() => resolveGetSource(whole, 'gone.txt', 20))).toMatchObject({
      code: 'NOT_FOUND',
      id: 20,
      message: '"gone.txt": no such file',
    });
    expect(await failure(() => resolveGetSource(whole, 'missing/gone.txt', 20))).toMatchObject({ code: 'NOT_FOUND' });
    expect(existsSync(join(root, 'missing'))).toBe(false);
    expect(await failure(() => resolveGetSource(whole, 'file.txt/x', 20))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a directory, a link to one, a FIFO or a path naming a directory is BAD_REQUEST', async () => {
    expect(await failure(() => resolveGetSource(whole, 'sub', 21))).toMatchObject({
      code: 'BAD_REQUEST',
      id: 21,
      message: '"sub" is a directory',
    });
    expect(await failure(() => resolveGetSource(whole, 'to-sub', 21))).toMatchObject({
      code: 'BAD_REQUEST',
      message: '"to-sub" is a directory',
    });
    expect(await failure(() => resolveGetSource(whole, 'fifo', 21))).toMatchObject({
      code: 'BAD_REQUEST',
      id: 21,
      message: '"fifo" is not a regular file',
    });
    expect(await failure(() => resolveGetSource(whole, 'sub/', 21))).toMatchObject({
      code: 'BAD_REQUEST',
      message: '"sub/" names a directory, not a file',
    });
  });

  it('a link loop is SPAWN_FAILED with the system words', async () => {
    for (const path of ['loop', 'loop-a']) {
      const system = await systemError(() => realpath(join(root, path)));
      expect(system).toMatch(/^ELOOP/);
      expect(await failure(() => resolveGetSource(whole, path, 22)), path).toMatchObject({
        code: 'SPAWN_FAILED',
        id: 22,
        message: `"${path}": ${system}`,
      });
    }
  });
});

describe('file system failures', () => {
  it('a directory the user may not search is SPAWN_FAILED: permission denied, both ways', async () => {
    const get = await restricted(() => failure(() => resolveGetSource(whole, 'locked/secret.txt', 23)));
    expect(get).toMatchObject({ code: 'SPAWN_FAILED', id: 23, message: '"locked/secret.txt": permission denied' });
    const put = await restricted(() => failure(() => resolvePutTarget(whole, 'locked/new.txt', 23, REPLACE)));
    expect(put).toMatchObject({ code: 'SPAWN_FAILED', message: '"locked/new.txt": permission denied' });
    const below = await restricted(() => failure(() => resolvePutTarget(whole, 'locked/a/new.txt', 23, MKDIRS)));
    expect(below).toMatchObject({ code: 'SPAWN_FAILED', message: '"locked/a/new.txt": permission denied' });
  });

  it('a parent that cannot be resolved (a link loop) is SPAWN_FAILED with the system words', async () => {
    for (const path of ['loop/x.txt', 'loop-a/sub/x.txt']) {
      const system = await systemError(() => realpath(join(root, path, '..')));
      expect(system).toMatch(/^ELOOP/);
      for (const options of [NEW, MKDIRS]) {
        expect(await failure(() => resolvePutTarget(whole, path, 29, options)), path).toMatchObject({
          code: 'SPAWN_FAILED',
          id: 29,
          message: `"${path}": ${system}`,
        });
      }
    }
  });

  it('ioError: permission problems say so, others keep the system words, a RexecError stays as it is', async () => {
    const eperm = await systemErrorOf(() => link(join(root, 'sub'), join(root, 'sub-link')));
    expect(eperm.code).toBe('EPERM');
    expect(ioError('a.txt', eperm, 30)).toMatchObject({
      code: 'SPAWN_FAILED',
      id: 30,
      message: '"a.txt": permission denied',
      cause: eperm,
    });
    const eloop = await systemErrorOf(() => realpath(join(root, 'loop')));
    expect(ioError('b.txt', eloop, 31)).toMatchObject({
      code: 'SPAWN_FAILED',
      id: 31,
      message: `"b.txt": ${eloop.message}`,
    });
    const own = new RexecError('EXISTS', 'already there', { id: 32 });
    expect(ioError('c.txt', own, 33)).toBe(own);
  });

  it('mkdirs in a directory the user may not write is SPAWN_FAILED: permission denied', async () => {
    const error = await restricted(() => failure(() => resolvePutTarget(whole, 'readonly/a/x.txt', 24, MKDIRS)));
    expect(error).toMatchObject({ code: 'SPAWN_FAILED', id: 24, message: '"readonly/a/x.txt": permission denied' });
    expect(existsSync(join(root, 'readonly', 'a'))).toBe(false);
  });
});

// mkdirs creates one level at a time; an entry that appears between the check and the
// mkdir (another process of the same account racing the put) must still be a directory
// inside the scope. makeDirs is that step, given the entries as the race leaves them.
describe('mkdirs when an entry appears meanwhile', () => {
  it('an existing directory inside is used', async () => {
    expect(await makeDirs(whole, root, ['sub', 'fresh'], 'sub/fresh/x.txt', 25)).toBe(join(root, 'sub', 'fresh'));
    expect(await makeDirs(whole, root, ['to-sub', 'fresh2'], 'p', 25)).toBe(join(root, 'sub', 'fresh2'));
  });

  it('a link to outside the root or filesDir is DENIED, and nothing is made behind it', async () => {
    expect(
      await failure(() => makeDirs(whole, root, ['to-sibling', 'made'], 'to-sibling/made/x.txt', 26)),
    ).toMatchObject({
      code: 'DENIED',
      id: 26,
      message: '"to-sibling/made/x.txt" is outside the server\'s root',
    });
    expect(existsSync(join(sibling, 'made'))).toBe(false);
    expect(await failure(() => makeDirs(handin, join(root, 'handin'), ['..', 'made'], 'p', 26))).toMatchObject({
      code: 'DENIED',
      message: '"p" is outside handin (rule: filesDir)',
    });
  });

  it('a dangling link is DENIED; a file is NOT_FOUND', async () => {
    expect(await failure(() => makeDirs(whole, root, ['dangling-dir', 'x'], 'p', 27))).toMatchObject({
      code: 'DENIED',
      id: 27,
      message: '"p" leads through a dangling symbolic link',
    });
    expect(existsSync(join(root, 'gone-dir'))).toBe(false);
    expect(await failure(() => makeDirs(whole, root, ['file.txt', 'x'], 'p', 27))).toMatchObject({
      code: 'NOT_FOUND',
      message: 'the parent of "p" is not a directory',
    });
  });

  it('a link loop is SPAWN_FAILED', async () => {
    expect(await failure(() => makeDirs(whole, root, ['loop', 'x'], 'p', 28))).toMatchObject({
      code: 'SPAWN_FAILED',
      id: 28,
    });
  });
});
