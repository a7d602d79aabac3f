// The cwd jail and the executable lookup (docs/protocol.md section 4), on real
// directories: a path is inside the root only when it is the root or below it (a
// sibling whose name starts with the root's name is outside, however it is reached),
// outside is DENIED whether or not it exists, and argv[0] must be an executable
// regular file, found by name only in the search path.
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import { isInside, resolveCwd, resolveExecutable } from '../../../src/server/paths.js';

let base: string;
let root: string;
let sibling: string;

/** The RexecError a call throws (or rejects with). */
async function failure(call: () => unknown): Promise<RexecError> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(RexecError);
    return error as RexecError;
  }
  throw new Error('expected a RexecError, got a result');
}

/**
 * Runs `call` while `dir` cannot be searched by this process: as root (which may search
 * anything) with the effective ids of nobody and the directory 0700, else with the
 * directory 0000.
 */
async function withoutAccess<T>(dir: string, call: () => Promise<T>): Promise<T> {
  const root = process.geteuid?.() === 0;
  chmodSync(dir, root ? 0o700 : 0o000);
  if (root) {
    process.setegid?.(65534);
    process.seteuid?.(65534);
  }
  try {
    return await call();
  } finally {
    if (root) {
      process.seteuid?.(0);
      process.setegid?.(0);
    }
    chmodSync(dir, 0o755);
  }
}

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'rexec-paths-')));
  // Others (nobody, in the permission test) must reach the root.
  chmodSync(base, 0o755);
  root = join(base, 'lab');
  sibling = join(base, 'lab-other');
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(sibling, 'inner'), { recursive: true });
  writeFileSync(join(root, 'file.txt'), 'not a directory');
  symlinkSync(sibling, join(root, 'to-sibling'));
  symlinkSync(join(sibling, 'inner'), join(root, 'to-sibling-inner'));
  symlinkSync(join(root, 'sub'), join(root, 'to-sub'));
  symlinkSync(join(root, 'gone'), join(root, 'dangling'));
  symlinkSync(join(sibling, 'gone'), join(root, 'dangling-out'));
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('isInside', () => {
  it('is true for the root and below, false for a sibling that shares its name prefix', () => {
    expect(isInside('/srv/lab', '/srv/lab')).toBe(true);
    expect(isInside('/srv/lab', '/srv/lab/a/b')).toBe(true);
    expect(isInside('/srv/lab', '/srv/lab-other')).toBe(false);
    expect(isInside('/srv/lab', '/srv/labx/a')).toBe(false);
    expect(isInside('/srv/lab', '/srv')).toBe(false);
    expect(isInside('/srv/lab', '/')).toBe(false);
  });

  it('with the root "/", everything is inside', () => {
    expect(isInside('/', '/')).toBe(true);
    expect(isInside('/', '/etc')).toBe(true);
    expect(isInside('/', '/srv/lab/x')).toBe(true);
  });

  it('accepts a root written with a trailing slash', () => {
    expect(isInside('/srv/lab/', '/srv/lab/a')).toBe(true);
    expect(isInside('/srv/lab/', '/srv/lab-other')).toBe(false);
  });
});

describe('resolveCwd: the jail', () => {
  it('gives the root for no cwd or an empty one, as it stands', async () => {
    expect(await resolveCwd(root, undefined, 1)).toBe(root);
    expect(await resolveCwd(root, '', 1)).toBe(root);
    // No cwd asks nothing of the file system (the spawn reports a vanished root).
    expect(await resolveCwd(join(base, 'no-root'), '', 1)).toBe(join(base, 'no-root'));
  });

  it('takes a relative cwd from the root, an absolute one as it stands, both as real paths', async () => {
    expect(await resolveCwd(root, 'sub/deeper', 1)).toBe(join(root, 'sub', 'deeper'));
    expect(await resolveCwd(root, join(root, 'sub'), 1)).toBe(join(root, 'sub'));
    expect(await resolveCwd(root, '.', 1)).toBe(root);
    expect(await resolveCwd(root, 'sub/..', 1)).toBe(root);
    expect(await resolveCwd(root, 'to-sub/deeper', 1)).toBe(join(root, 'sub', 'deeper'));
  });

  // The sibling /…/lab-other starts with the root's name /…/lab: it must still be outside.
  it.each([
    ['the sibling, absolute', () => sibling],
    ['inside the sibling, absolute', () => join(sibling, 'inner')],
    ['the sibling through ..', () => '../lab-other'],
    ['inside the sibling through ..', () => 'sub/../../lab-other/inner'],
    ['the sibling through a symlink', () => 'to-sibling'],
    ['inside the sibling through a symlink', () => 'to-sibling-inner'],
    ['the parent of the root', () => '..'],
    ['/', () => '/'],
  ])('refuses %s with DENIED', async (_what, cwd) => {
    const error = await failure(() => resolveCwd(root, cwd(), 7));
    expect(error.code).toBe('DENIED');
    expect(error.id).toBe(7);
    expect(error.message).toBe(`cwd ${cwd()} is outside the server's root`);
  });

  // A refusal must not tell whether something exists outside the root.
  it.each([
    ['a missing directory in the sibling', () => join(sibling, 'missing')],
    ['a missing path below a missing directory in the sibling', () => join(sibling, 'missing', 'deeper')],
    ['a missing directory through ..', () => '../lab-other/missing'],
    ['a missing directory behind a symlink to the sibling', () => 'to-sibling/missing'],
    ['a path under / that does not exist', () => '/no/such/dir/outside'],
  ])('refuses %s with DENIED, not SPAWN_FAILED', async (_what, cwd) => {
    const error = await failure(() => resolveCwd(root, cwd(), 8));
    expect(error.code).toBe('DENIED');
    expect(error.id).toBe(8);
  });

  // A student can plant a link in the jail (ln -s from a sandboxed command) that rexecd,
  // outside the sandbox, resolves: the answer must not say whether its target exists.
  it('a link planted in the root tells nothing about the existence of its target outside', async () => {
    const existing = await failure(() => resolveCwd(root, 'to-sibling', 12));
    const missing = await failure(() => resolveCwd(root, 'dangling-out', 12));
    expect(missing.code).toBe(existing.code);
    expect(missing.code).toBe('DENIED');
    expect(missing.message).toBe("cwd dangling-out is outside the server's root");
    expect(await failure(() => resolveCwd(root, 'dangling-out/deeper', 12))).toMatchObject({ code: 'DENIED' });
  });

  it('a cwd through a dangling link is DENIED wherever the link points (its destination is unknown)', async () => {
    for (const cwd of ['dangling', 'dangling/deeper']) {
      expect(await failure(() => resolveCwd(root, cwd, 13)), cwd).toMatchObject({ code: 'DENIED', id: 13 });
    }
  });

  it('a missing directory inside is SPAWN_FAILED saying so', async () => {
    for (const cwd of ['missing', 'sub/missing/deeper', join(root, 'missing')]) {
      const error = await failure(() => resolveCwd(root, cwd, 9));
      expect(error.code, cwd).toBe('SPAWN_FAILED');
      expect(error.id, cwd).toBe(9);
      expect(error.message, cwd).toBe(`cwd ${cwd}: no such directory`);
    }
  });

  it('a regular file as cwd is SPAWN_FAILED: not a directory', async () => {
    const error = await failure(() => resolveCwd(root, 'file.txt', 10));
    expect(error).toMatchObject({ code: 'SPAWN_FAILED', id: 10, message: 'cwd file.txt is not a directory' });
    const below = await failure(() => resolveCwd(root, 'file.txt/x', 11));
    expect(below).toMatchObject({ code: 'SPAWN_FAILED', id: 11, message: 'cwd file.txt/x: not a directory' });
  });

  it('a directory rexecd may not search is SPAWN_FAILED: permission denied', async () => {
    const locked = join(root, 'locked');
    mkdirSync(join(locked, 'in'), { recursive: true });
    const error = await withoutAccess(locked, () => failure(() => resolveCwd(root, 'locked/in', 14)));
    expect(error).toMatchObject({ code: 'SPAWN_FAILED', id: 14, message: 'cwd locked/in: permission denied' });
  });

  it('with the root "/", any existing directory is allowed', async () => {
    expect(await resolveCwd('/', base, 1)).toBe(base);
    expect(await resolveCwd('/', 'tmp', 1)).toBe(realpathSync('/tmp'));
  });
});

describe('resolveExecutable', () => {
  let bin: string;
  let first: string;
  let second: string;

  beforeAll(() => {
    bin = join(base, 'bin');
    first = join(bin, 'first');
    second = join(bin, 'second');
    for (const dir of [first, second, join(bin, 'cwd', 'sub')]) mkdirSync(dir, { recursive: true });
    const file = (path: string, mode: number): void => {
      writeFileSync(path, '#!/bin/sh\nexit 0\n');
      chmodSync(path, mode);
    };
    // `tool`: not executable in first, executable in second.
    file(join(first, 'tool'), 0o644);
    file(join(second, 'tool'), 0o755);
    // `only-x-owner`: executable by its owner alone.
    file(join(second, 'only-x-owner'), 0o100);
    // `plain`: only a non-executable file. `dir`: a directory, then a plain file.
    file(join(first, 'plain'), 0o644);
    mkdirSync(join(first, 'dir'));
    file(join(second, 'dir'), 0o644);
    mkdirSync(join(second, 'dironly'));
    symlinkSync(join(first, 'loop'), join(first, 'loop'));
    file(join(bin, 'cwd', 'run.sh'), 0o755);
    file(join(bin, 'cwd', 'data.txt'), 0o644);
  });

  const path = (): string => `${first}:${second}`;

  it('finds a name in the first search directory that has it as an executable file', () => {
    expect(resolveExecutable('tool', '/', path(), 1)).toBe(join(second, 'tool'));
    expect(resolveExecutable('tool', '/', `${second}:${first}`, 1)).toBe(join(second, 'tool'));
    expect(resolveExecutable('only-x-owner', '/', path(), 1)).toBe(join(second, 'only-x-owner'));
  });

  it('a name found only as a file that is not executable is SPAWN_FAILED', () => {
    expect(() => resolveExecutable('plain', '/', path(), 2)).toThrow(
      expect.objectContaining({ code: 'SPAWN_FAILED', id: 2, message: 'plain: permission denied (not executable)' }),
    );
  });

  it('a name found only as a directory is SPAWN_FAILED, and the first problem is the one reported', () => {
    expect(() => resolveExecutable('dironly', '/', path(), 3)).toThrow(
      expect.objectContaining({ code: 'SPAWN_FAILED', id: 3, message: 'dironly: not a regular file' }),
    );
    expect(() => resolveExecutable('dir', '/', path(), 3)).toThrow(
      expect.objectContaining({ code: 'SPAWN_FAILED', message: 'dir: not a regular file' }),
    );
    expect(() => resolveExecutable('dir', '/', `${second}:${first}`, 3)).toThrow(
      expect.objectContaining({ code: 'SPAWN_FAILED', message: 'dir: permission denied (not executable)' }),
    );
  });

  it('a name found nowhere is NOT_FOUND', () => {
    expect(() => resolveExecutable('no-such-tool', '/', path(), 4)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', id: 4, message: 'no-such-tool: command not found' }),
    );
  });

  it('skips empty and relative search directories', () => {
    const rel = relative(process.cwd(), second);
    expect(rel.startsWith('/')).toBe(false);
    expect(() => resolveExecutable('tool', '/', `:${rel}:.`, 5)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
    expect(resolveExecutable('tool', '/', `::${rel}:${second}`, 5)).toBe(join(second, 'tool'));
  });

  it('a search entry that cannot be looked into (a symlink loop) is SPAWN_FAILED with the system words', () => {
    const system = (() => {
      try {
        return statSync(join(first, 'loop')).isFile();
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(system).toMatch(/^ELOOP/);
    expect(() => resolveExecutable('loop', '/', first, 6)).toThrow(
      expect.objectContaining({ code: 'SPAWN_FAILED', id: 6, message: `loop: ${system}` }),
    );
  });

  it('takes a name with a slash from the cwd, never from the search path', () => {
    const cwd = join(bin, 'cwd');
    expect(resolveExecutable('./run.sh', cwd, path(), 7)).toBe(join(cwd, 'run.sh'));
    expect(resolveExecutable('sub/../run.sh', cwd, path(), 7)).toBe(join(cwd, 'run.sh'));
    expect(resolveExecutable(join(second, 'tool'), cwd, '', 7)).toBe(join(second, 'tool'));
    expect(() => resolveExecutable('./tool', cwd, path(), 7)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', id: 7, message: './tool: command not found' }),
    );
  });

  it('a path to a non-executable file, a directory or a loop is SPAWN_FAILED; below a file is NOT_FOUND', () => {
    const cwd = join(bin, 'cwd');
    expect(() => resolveExecutable('./data.txt', cwd, path(), 8)).toThrow(
      expect.objectContaining({
        code: 'SPAWN_FAILED',
        id: 8,
        message: './data.txt: permission denied (not executable)',
      }),
    );
    expect(() => resolveExecutable('./sub', cwd, path(), 8)).toThrow(
      expect.objectContaining({ code: 'SPAWN_FAILED', id: 8, message: './sub: not a regular file' }),
    );
    expect(() => resolveExecutable(join(first, 'loop'), cwd, path(), 8)).toThrow(
      expect.objectContaining({ code: 'SPAWN_FAILED', id: 8 }),
    );
    expect(() => resolveExecutable('./data.txt/x', cwd, path(), 8)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', id: 8 }),
    );
  });
});
