// The rules in force for a user (README "The policy file"): the server's flags, then
// lab.json, then its entry for the user, then the users file's entry. Checked on real
// files and directories, and where a rule decides a request, through the request
// checks themselves (prepareExec, checkTransferPolicy).
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import type { ExecRequest, GetRequest, PutRequest } from '../../../src/protocol/messages.js';
import { SEARCH_PATH } from '../../../src/server/environment.js';
import { prepareExec } from '../../../src/server/exec-request.js';
import { checkTransferPolicy } from '../../../src/server/files/transfer-policy.js';
import { loadLab } from '../../../src/server/policy/load.js';
import { applyRules, basePolicy } from '../../../src/server/policy/user-policy.js';
import type { UserPolicy } from '../../../src/server/policy/user-policy.js';

let dir: string;
let root: string;
let files = 0;

const base = (): UserPolicy =>
  basePolicy({ root, allowShell: false, timeoutMs: 30_000, maxConcurrent: 8, maxOutputBytes: undefined });

/** The policy for `user` from a lab.json (and users.json when `users` is given). */
function policyFor(
  policy: Record<string, unknown>,
  user = 'alice',
  users?: Record<string, Record<string, unknown>>,
): UserPolicy {
  files += 1;
  const policyFile = join(dir, `lab-${files}.json`);
  writeFileSync(policyFile, JSON.stringify(policy));
  let usersFile: string | undefined;
  if (users !== undefined) {
    usersFile = join(dir, `users-${files}.json`);
    const entries = Object.fromEntries(
      Object.entries(users).map(([name, rules]) => [name, { key: 'k'.repeat(32), ...rules }]),
    );
    writeFileSync(usersFile, JSON.stringify({ users: entries }), { mode: 0o600 });
  }
  return loadLab(base(), policyFile, usersFile).policyFor(user);
}

/** The CONFIG error a policy gets at load, or undefined when it loads. */
function configError(
  policy: Record<string, unknown>,
  users?: Record<string, Record<string, unknown>>,
): RexecError | undefined {
  try {
    policyFor(policy, 'alice', users);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(RexecError);
    expect((error as RexecError).code).toBe('CONFIG');
    return error as RexecError;
  }
}

function exec(argv: string[], more: Partial<ExecRequest> = {}): ExecRequest {
  return {
    type: 'exec',
    id: 5,
    argv,
    command: undefined,
    cwd: undefined,
    env: [],
    timeoutMs: undefined,
    stdin: false,
    stdinAck: false,
    merge: false,
    pty: undefined,
    ...more,
  };
}

/** What prepareExec makes of a request: the file to run, or the error's code and message. */
async function outcome(
  policy: UserPolicy,
  request: ExecRequest,
): Promise<{ file?: string; cwd?: string; code?: string; message?: string }> {
  try {
    const spec = await prepareExec(request, policy, { PATH: policy.searchPath.join(':') });
    return { file: spec.file, cwd: spec.cwd };
  } catch (error) {
    return { code: (error as RexecError).code, message: (error as RexecError).message };
  }
}

beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'rexec-policy-')));
  root = join(dir, 'root');
  mkdirSync(join(root, 'handin'), { recursive: true });
  mkdirSync(join(root, 'sub'));
  mkdirSync(join(dir, 'root-other', 'handin'), { recursive: true });
  mkdirSync(join(dir, 'second', 'handin'), { recursive: true });
  writeFileSync(join(root, 'plain.txt'), 'x');
  writeFileSync(join(dir, 'file-root'), 'x');
  symlinkSync(root, join(dir, 'root-link'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('without a policy file: the server flags', () => {
  it('any command in the fixed search path, no shell unless allowed, transfers allowed, no limits', async () => {
    const policy = base();
    expect(policy).toMatchObject({
      root,
      searchPath: SEARCH_PATH.split(':'),
      allow: '*',
      shell: false,
      envAllow: '*',
      envSet: {},
      timeoutMs: 30_000,
      maxConcurrent: 8,
      rlimits: {},
      sandbox: 'none',
      files: true,
      filesScope: root,
    });
    for (const field of [
      'maxOutputBytes',
      'maxStdinBytes',
      'maxConcurrentPerUser',
      'maxConnectionsPerUser',
      'runAs',
      'filesDir',
      'maxFileBytes',
    ] as const) {
      expect(policy[field], field).toBeUndefined();
    }
    expect(await outcome(policy, exec(['sh']))).toMatchObject({ file: expect.stringMatching(/\/sh$/) });
    expect(await outcome(policy, exec(['sh'], { argv: undefined, command: 'true' }))).toMatchObject({ code: 'DENIED' });
    const shell = basePolicy({ root, allowShell: true, timeoutMs: 1, maxConcurrent: 1, maxOutputBytes: 10 });
    expect(shell).toMatchObject({ shell: true, timeoutMs: 1, maxConcurrent: 1, maxOutputBytes: 10 });
    expect(() => checkTransferPolicy({ type: 'get', id: 1, path: 'x' }, policy)).not.toThrow();
  });
});

describe('allow', () => {
  it('"*" allows any command, also a path', async () => {
    const policy = policyFor({ root, allow: '*' });
    expect(policy.allow).toBe('*');
    expect(await outcome(policy, exec(['uname']))).toMatchObject({ file: expect.stringMatching(/\/uname$/) });
    expect(await outcome(policy, exec(['/bin/echo']))).toEqual({ file: '/bin/echo', cwd: root });
  });

  it('a list holding "*" allows any command too', async () => {
    const policy = policyFor({ root, allow: ['echo', '*'] });
    expect(policy.allow).toBe('*');
    expect(await outcome(policy, exec(['uname']))).toMatchObject({ file: expect.stringMatching(/\/uname$/) });
  });

  it('a listed name runs, found in the path; an unlisted one is DENIED naming the rule', async () => {
    const policy = policyFor({ root, allow: ['echo', '/bin/ls'] });
    expect(await outcome(policy, exec(['echo']))).toMatchObject({ file: expect.stringMatching(/\/echo$/) });
    expect(await outcome(policy, exec(['uname']))).toEqual({
      code: 'DENIED',
      message: 'uname is not an allowed command (rule: allow)',
    });
  });

  it('a listed path runs when given exactly; it does not allow its name, nor its directory', async () => {
    const policy = policyFor({ root, allow: ['echo', '/bin/ls'] });
    expect(await outcome(policy, exec(['/bin/ls']))).toEqual({ file: '/bin/ls', cwd: root });
    expect(await outcome(policy, exec(['/bin/../bin/ls']))).toEqual({ file: '/bin/ls', cwd: root });
    expect(await outcome(policy, exec(['ls']))).toMatchObject({ code: 'DENIED' });
    expect(await outcome(policy, exec(['/bin/echo']))).toMatchObject({ code: 'DENIED' });
  });

  // A name allows the command found in the path, not a file of that name anywhere else.
  it('a listed name does not allow a path that ends in it', async () => {
    const policy = policyFor({ root, allow: ['echo', 'tool'] });
    for (const path of ['./echo', join(process.cwd(), 'echo'), join(process.cwd(), 'tool'), join(root, 'tool')]) {
      expect(await outcome(policy, exec([path])), path).toMatchObject({ code: 'DENIED' });
    }
  });

  it('a user entry replaces the list, and an entry without one inherits it', async () => {
    const users = { alice: {}, bob: { allow: ['uname'] } };
    expect(await outcome(policyFor({ root, allow: ['echo'] }, 'alice', users), exec(['echo']))).toMatchObject({
      file: expect.any(String),
    });
    const bob = policyFor({ root, allow: ['echo'] }, 'bob', users);
    expect(await outcome(bob, exec(['echo']))).toMatchObject({ code: 'DENIED' });
    expect(await outcome(bob, exec(['uname']))).toMatchObject({ file: expect.any(String) });
  });
});

describe('root', () => {
  it('is the real path of the directory, relative to the policy file', () => {
    expect(policyFor({ root: 'root' }).root).toBe(root);
    expect(policyFor({ root: join(dir, 'root-link') }).root).toBe(root);
  });

  // A root named through a symlink must still admit its own directories, also when
  // the request names them through the same symlink.
  it('given through a symlink, still admits its directories and refuses its sibling', async () => {
    const policy = policyFor({ root: join(dir, 'root-link'), allow: '*' });
    expect(await outcome(policy, exec(['true'], { cwd: 'sub' }))).toMatchObject({ cwd: join(root, 'sub') });
    expect(await outcome(policy, exec(['true'], { cwd: join(dir, 'root-link', 'sub') }))).toMatchObject({
      cwd: join(root, 'sub'),
    });
    expect(await outcome(policy, exec(['true'], { cwd: join(dir, 'root-other') }))).toMatchObject({ code: 'DENIED' });
  });

  it('that does not exist, or is a file, stops the server naming the field', () => {
    expect(configError({ root: 'missing' })?.message).toMatch(/lab-\d+\.json root: .*\/missing does not exist$/);
    expect(configError({ root: join(dir, 'file-root') })?.message).toMatch(
      /lab-\d+\.json root: .*\/file-root is not a directory$/,
    );
  });
});

describe('filesDir', () => {
  const put = (path: string): PutRequest => ({
    type: 'put',
    id: 3,
    path,
    size: 1,
    mode: 0o644,
    overwrite: false,
    mkdirs: false,
  });

  it('is resolved from the root, or absolute inside it, to a real directory', () => {
    expect(policyFor({ root, filesDir: 'handin' })).toMatchObject({
      filesDir: 'handin',
      filesScope: join(root, 'handin'),
    });
    expect(policyFor({ root, filesDir: join(root, 'handin') }).filesScope).toBe(join(root, 'handin'));
    expect(policyFor({ root, filesDir: '.' }).filesScope).toBe(root);
    expect(policyFor({ root }).filesScope).toBe(root);
  });

  it('outside the root stops the server, also a sibling whose name starts with the root', () => {
    for (const filesDir of ['..', join(dir, 'root-other', 'handin'), '../root-other/handin', '/']) {
      const error = configError({ root, filesDir });
      expect(error?.message, filesDir).toMatch(
        new RegExp(
          `lab-\\d+\\.json filesDir: ${filesDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not inside the root ${root}$`,
        ),
      );
    }
  });

  it('that does not exist, or is not a directory, stops the server', () => {
    expect(configError({ root, filesDir: 'missing' })?.message).toMatch(/filesDir: .*\/root\/missing does not exist$/);
    expect(configError({ root, filesDir: 'plain.txt' })?.message).toMatch(
      /filesDir: .*\/root\/plain\.txt is not a directory$/,
    );
  });

  it('is resolved again from a user root that differs, and the message says it was inherited', () => {
    const alice = policyFor({ root, filesDir: 'handin' }, 'alice', { alice: { root: join(dir, 'second') } });
    expect(alice.filesScope).toBe(join(dir, 'second', 'handin'));
    const error = configError({ root, filesDir: 'handin' }, { alice: { root: join(dir, 'root', 'sub') } });
    expect(error?.message).toMatch(
      /users-\d+\.json users\.alice filesDir \(inherited\): .*\/root\/sub\/handin does not exist$/,
    );
  });

  it('a user entry can set its own', () => {
    const users = { alice: { filesDir: 'sub' } };
    expect(policyFor({ root, filesDir: 'handin' }, 'alice', users)).toMatchObject({
      filesDir: 'sub',
      filesScope: join(root, 'sub'),
    });
  });

  it('files: false refuses every transfer; a user entry may allow them again', () => {
    const off = policyFor({ root, files: false });
    expect(() => checkTransferPolicy(put('a.txt'), off)).toThrow(/rule: files/);
    const get: GetRequest = { type: 'get', id: 4, path: 'a.txt' };
    expect(() => checkTransferPolicy(get, off)).toThrow(/rule: files/);
    expect(() =>
      checkTransferPolicy(get, policyFor({ root, files: false }, 'alice', { alice: { files: true } })),
    ).not.toThrow();
  });
});

describe('layering: each rule from the most specific layer that sets it', () => {
  it('the policy file sets the rules, a user entry overrides what it names and inherits the rest', () => {
    const top = {
      root,
      path: ['/usr/bin', '/bin'],
      shell: true,
      env: { allow: ['TERM'], set: { LAB: 'on', TERM: 'dumb' } },
      limits: {
        timeoutMs: 1000,
        maxOutputBytes: 2000,
        maxStdinBytes: 3000,
        maxConcurrent: 4,
        maxConcurrentPerUser: 5,
        maxConnectionsPerUser: 6,
        maxFileBytes: 7000,
        nproc: 50,
        cpuSeconds: 10,
      },
      sandbox: 'none',
      runAs: { user: 'nobody' },
    };
    const inherited = policyFor(top, 'alice', { alice: {} });
    expect(inherited).toMatchObject({
      searchPath: ['/usr/bin', '/bin'],
      shell: true,
      envSet: { LAB: 'on', TERM: 'dumb' },
      timeoutMs: 1000,
      maxOutputBytes: 2000,
      maxStdinBytes: 3000,
      maxConcurrent: 4,
      maxConcurrentPerUser: 5,
      maxConnectionsPerUser: 6,
      maxFileBytes: 7000,
      rlimits: { nproc: 50, cpuSeconds: 10 },
      sandbox: 'none',
      runAs: { user: 'nobody', uid: 65534 },
    });
    expect(inherited.envAllow).toEqual(new Set(['TERM']));

    const own = policyFor(top, 'alice', {
      alice: {
        path: ['/bin'],
        shell: false,
        env: { allow: '*', set: { TERM: 'xterm', MORE: '1' } },
        limits: {
          timeoutMs: 9,
          maxOutputBytes: 8,
          maxStdinBytes: 7,
          maxConcurrent: 6,
          maxConcurrentPerUser: 5,
          maxConnectionsPerUser: 4,
          maxFileBytes: 3,
          nproc: 2,
        },
        runAs: { user: 'root' },
      },
    });
    expect(own).toMatchObject({
      searchPath: ['/bin'],
      shell: false,
      envAllow: '*',
      envSet: { LAB: 'on', TERM: 'xterm', MORE: '1' },
      timeoutMs: 9,
      maxOutputBytes: 8,
      maxStdinBytes: 7,
      maxConcurrent: 6,
      maxConcurrentPerUser: 5,
      maxConnectionsPerUser: 4,
      maxFileBytes: 3,
      rlimits: { nproc: 2, cpuSeconds: 10 },
      runAs: { user: 'root', uid: 0 },
    });
  });

  it('a user entry of the policy file, then of the users file, in that order', () => {
    const policy = policyFor(
      { root, shell: false, users: { alice: { shell: true, limits: { timeoutMs: 5 } } } },
      'alice',
      {
        alice: { limits: { timeoutMs: 6 } },
      },
    );
    expect(policy).toMatchObject({ shell: true, timeoutMs: 6 });
  });

  it('the policy root and sandbox are inherited, and a user root replaces the root', () => {
    const users = { alice: {}, bob: { root: join(dir, 'second') } };
    expect(policyFor({ root, sandbox: 'bwrap' }, 'alice', users)).toMatchObject({
      root,
      sandbox: 'bwrap',
      filesScope: root,
    });
    expect(policyFor({ root }, 'bob', users)).toMatchObject({
      root: join(dir, 'second'),
      filesScope: join(dir, 'second'),
    });
  });

  it('an unknown runAs user stops the server naming the field', () => {
    expect(configError({ root, runAs: { user: 'no-such-user-here' } })?.message).toMatch(
      /lab-\d+\.json runAs\.user: no local user named "no-such-user-here"$/,
    );
  });

  it('a limit left undefined in a layer keeps the inherited one', () => {
    const policy = applyRules(
      applyRules(base(), { limits: { nproc: 3, openFiles: 9 } }, 'a', dir),
      { limits: { nproc: undefined, openFiles: 4 } },
      'b',
      dir,
    );
    expect(policy.rlimits).toEqual({ nproc: 3, openFiles: 4 });
  });
});
