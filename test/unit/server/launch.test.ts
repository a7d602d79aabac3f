// The launch chain's argv (pure), and the root preamble's script run by a real /bin/sh.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bwrapArgs,
  DEFAULT_TMP_BYTES,
  planLaunch,
  PREAMBLE_NAME,
  PREAMBLE_SCRIPT,
  setprivArgs,
} from '../../../src/server/launch.js';
import type { LaunchSettings } from '../../../src/server/launch.js';

const base: LaunchSettings = { file: '/bin/echo', args: ['hi'], argv0: 'echo', cwd: '/srv', merge: false, rlimits: {}, sandboxRoot: undefined };
const preamble = (adj: string, pwd: string, ...procs: string[]): string[] => ['-c', PREAMBLE_SCRIPT, PREAMBLE_NAME, adj, pwd, ...procs, '--'];

describe('planLaunch', () => {
  it('without confinement: the program itself, its argv0, spawned as the runAs ids', () => {
    expect(planLaunch(base)).toStrictEqual({ file: '/bin/echo', args: ['hi'], argv0: 'echo' });
    expect(planLaunch({ ...base, runAs: { uid: 65534, gid: 65533 } })).toStrictEqual({
      file: '/bin/echo',
      args: ['hi'],
      argv0: 'echo',
      uid: 65534,
      gid: 65533,
    });
  });

  it('without confinement: a uid or a gid alone is passed on alone', () => {
    expect(planLaunch({ ...base, runAs: { gid: 5 } })).toStrictEqual({ file: '/bin/echo', args: ['hi'], argv0: 'echo', gid: 5 });
    expect(planLaunch({ ...base, runAs: { uid: 0 } })).toStrictEqual({ file: '/bin/echo', args: ['hi'], argv0: 'echo', uid: 0 });
  });

  it('without confinement: prlimit → bwrap → sh (merge), as before', () => {
    const plan = planLaunch({ ...base, merge: true, rlimits: { nproc: 5 }, sandboxRoot: '/srv', runAs: { uid: 1, gid: 2 } });
    expect(plan.file).toBe('/usr/bin/prlimit');
    expect(plan.args.slice(0, 3)).toStrictEqual(['--nproc=5', '--', '/usr/bin/bwrap']);
    expect(plan.args.slice(-6)).toStrictEqual(['--', '/bin/sh', '-c', 'exec "$0" "$@" 2>&1', '/bin/echo', 'hi']);
    expect(plan).toMatchObject({ argv0: undefined, uid: 1, gid: 2 });
  });

  it('with confinement: a root preamble first, then setpriv to the runAs account, then the rest', () => {
    const plan = planLaunch({
      ...base,
      rlimits: { nproc: 5 },
      runAs: { uid: 65534, gid: 65534 },
      confinement: { cgroupProcs: ['/cg/m/cgroup.procs', '/cg/p/cgroup.procs'], oomScoreAdj: 500 },
    });
    expect(plan).toStrictEqual({
      file: '/bin/sh',
      args: [
        ...preamble('500', '-', '/cg/m/cgroup.procs', '/cg/p/cgroup.procs'),
        '/usr/bin/setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
        '/usr/bin/prlimit',
        '--nproc=5',
        '--',
        '/bin/echo',
        'hi',
      ],
      argv0: undefined,
    });
  });

  it('with confinement and no runAs: no setpriv; the command\'s PWD is passed to be kept', () => {
    const plan = planLaunch({ ...base, confinement: { cgroupProcs: [], oomScoreAdj: 700 }, pwd: '/a b' });
    expect(plan).toStrictEqual({ file: '/bin/sh', args: [...preamble('700', '=/a b'), '/bin/echo', 'hi'], argv0: undefined });
  });

  it('sizes the sandbox tmpfs from the settings, else the default', () => {
    const sized = planLaunch({ ...base, sandboxRoot: '/srv', sandboxTmpBytes: 4096 });
    expect(sized.args.filter((arg, i) => sized.args[i - 1] === '--size')).toStrictEqual(['4096', '4096']);
    const plain = planLaunch({ ...base, sandboxRoot: '/srv' });
    expect(plain.args.filter((arg, i) => plain.args[i - 1] === '--size')).toStrictEqual([String(DEFAULT_TMP_BYTES), String(DEFAULT_TMP_BYTES)]);
  });
});

describe('bwrapArgs', () => {
  const args = bwrapArgs('/srv/lab', '/srv/lab/x', ['/opt/helper.mjs'], 1234);
  const at = (...sequence: string[]): number => args.findIndex((_, i) => sequence.every((word, j) => args[i + j] === word));

  it('gives /tmp and /dev/shm a tmpfs of the size each, /dev/shm after --dev', () => {
    expect(at('--size', '1234', '--tmpfs', '/tmp')).toBeGreaterThanOrEqual(0);
    expect(at('--size', '1234', '--tmpfs', '/dev/shm')).toBeGreaterThan(at('--dev', '/dev'));
    expect(args.filter((arg) => arg === '--tmpfs')).toHaveLength(2);
    expect(args.filter((arg) => arg === '--size')).toHaveLength(2);
  });

  it('makes the sandbox root and /dev read-only after every mount', () => {
    const lastMount = Math.max(at('--bind', '/srv/lab', '/srv/lab'), at('--ro-bind', '/opt/helper.mjs', '/opt/helper.mjs'), at('--tmpfs', '/dev/shm'));
    expect(at('--remount-ro', '/dev')).toBeGreaterThan(lastMount);
    expect(at('--remount-ro', '/')).toBeGreaterThan(lastMount);
    expect(at('--chdir', '/srv/lab/x')).toBeGreaterThan(at('--remount-ro', '/'));
  });

  it('defaults to DEFAULT_TMP_BYTES', () => {
    expect(bwrapArgs('/r', '/r').filter((arg, i, all) => all[i - 1] === '--size')).toStrictEqual([String(DEFAULT_TMP_BYTES), String(DEFAULT_TMP_BYTES)]);
  });
});

describe('setprivArgs', () => {
  it('sets real, effective and saved ids and drops supplementary groups', () => {
    expect(setprivArgs({ uid: 1000, gid: 100 })).toStrictEqual(['--reuid=1000', '--regid=100', '--clear-groups']);
  });

  it('switches only what is given, as child_process does (which drops the groups either way)', () => {
    expect(setprivArgs({ uid: 7 })).toStrictEqual(['--reuid=7', '--clear-groups']);
    expect(setprivArgs({ gid: 8 })).toStrictEqual(['--regid=8', '--clear-groups']);
  });
});

// The script itself, run by the real /bin/sh with ordinary files standing in for
// cgroup.procs (raising one's own OOM score needs no privilege). As nobody when the
// tests run as root: a script that writes pids into files must not reach the system's.
describe('the preamble script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rexec-preamble-'));
  chmodSync(dir, 0o777);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const run = (adj: string, pwd: string, procs: readonly string[], command: readonly string[], env: Record<string, string> = {}) =>
    spawnSync('/bin/sh', [...preamble(adj, pwd, ...procs), ...command], {
      encoding: 'utf8',
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', ...env },
      ...asNobody,
    });

  it('writes the pid of the process that becomes the command into each file, and raises its score', () => {
    const procs = [join(dir, 'a.procs'), join(dir, 'b.procs')];
    const result = run('500', '-', procs, ['/bin/sh', '-c', 'echo $$; cat /proc/self/oom_score_adj']);
    const [pid, score] = result.stdout.trim().split('\n');
    expect(result.status).toBe(0);
    expect(readFileSync(procs[0] as string, 'utf8')).toBe(`${pid}\n`);
    expect(readFileSync(procs[1] as string, 'utf8')).toBe(`${pid}\n`);
    expect(score).toBe('500');
  });

  it('passes every argument after its own "--" as it is, and the exit status back', () => {
    const result = run('500', '-', [], ['/bin/sh', '-c', 'printf "[%s]" "$@"; exit 7', 'sh', '--', '', 'a b', '$HOME', '-c']);
    expect(result.stdout).toBe('[--][][a b][$HOME][-c]');
    expect(result.status).toBe(7);
  });

  it('keeps the environment as given: no PWD of its own, or the command\'s own PWD', () => {
    const without = run('500', '-', [], ['/usr/bin/env'], { A: '1' });
    expect(without.stdout.split('\n').filter(Boolean).sort()).toStrictEqual(['A=1', 'PATH=/usr/bin:/bin']);
    const withPwd = run('500', '=/some where', [], ['/usr/bin/env']);
    expect(withPwd.stdout).toContain('PWD=/some where\n');
  });

  it('stops with 126 and runs nothing when a cgroup cannot be joined', () => {
    const marker = join(dir, 'ran');
    const missing = join(dir, 'no-such-dir', 'cgroup.procs');
    const result = run('500', '-', [missing], ['/bin/sh', '-c', `touch ${marker}`]);
    expect(result.status).toBe(126);
    expect(result.stderr).toMatch(/^rexecd-preamble: /);
    expect(existsSync(marker)).toBe(false);
  });

  it('stops with 126 when the score cannot be set', () => {
    const marker = join(dir, 'ran');
    const result = run('not-a-number', '-', [], ['/bin/sh', '-c', `touch ${marker}`]);
    expect(result.status).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });
});
