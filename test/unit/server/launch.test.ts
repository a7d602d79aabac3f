// The launch chain's argv (pure), and the root preamble's script run by a real /bin/sh.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BWRAP,
  bwrapArgs,
  DEFAULT_TMP_BYTES,
  inSandboxView,
  planLaunch,
  PREAMBLE_NAME,
  PREAMBLE_SCRIPT,
  PRLIMIT,
  prlimitArgs,
  setprivArgs,
} from '../../../src/server/launch.js';
import type { LaunchSettings } from '../../../src/server/launch.js';

const base: LaunchSettings = {
  file: '/bin/echo',
  args: ['hi'],
  argv0: 'echo',
  cwd: '/srv',
  merge: false,
  rlimits: {},
  sandboxRoot: undefined,
};
const preamble = (adj: string, pwd: string, ...procs: string[]): string[] => [
  '-c',
  PREAMBLE_SCRIPT,
  PREAMBLE_NAME,
  adj,
  pwd,
  ...procs,
  '--',
];

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
    expect(planLaunch({ ...base, runAs: { gid: 5 } })).toStrictEqual({
      file: '/bin/echo',
      args: ['hi'],
      argv0: 'echo',
      gid: 5,
    });
    expect(planLaunch({ ...base, runAs: { uid: 0 } })).toStrictEqual({
      file: '/bin/echo',
      args: ['hi'],
      argv0: 'echo',
      uid: 0,
    });
  });

  it('without confinement: prlimit → bwrap → sh (merge), as before', () => {
    const plan = planLaunch({
      ...base,
      merge: true,
      rlimits: { nproc: 5 },
      sandboxRoot: '/srv',
      runAs: { uid: 1, gid: 2 },
    });
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

  it("with confinement and no runAs: no setpriv; the command's PWD is passed to be kept", () => {
    const plan = planLaunch({ ...base, confinement: { cgroupProcs: [], oomScoreAdj: 700 }, pwd: '/a b' });
    expect(plan).toStrictEqual({
      file: '/bin/sh',
      args: [...preamble('700', '=/a b'), '/bin/echo', 'hi'],
      argv0: undefined,
    });
  });

  it('keeps argv0 only when nothing wraps the program: not under sh (merge), nor under bwrap alone', () => {
    expect(planLaunch({ ...base, merge: true })).toStrictEqual({
      file: '/bin/sh',
      args: ['-c', 'exec "$0" "$@" 2>&1', '/bin/echo', 'hi'],
      argv0: undefined,
    });
    const sandboxed = planLaunch({ ...base, sandboxRoot: '/srv' });
    expect(sandboxed).toMatchObject({ file: BWRAP, argv0: undefined });
    expect(sandboxed.args.slice(-3)).toStrictEqual(['--', '/bin/echo', 'hi']);
    expect(planLaunch({ ...base, rlimits: { openFiles: 9 } })).toStrictEqual({
      file: PRLIMIT,
      args: ['--nofile=9', '--', '/bin/echo', 'hi'],
      argv0: undefined,
    });
  });

  it('sizes the sandbox tmpfs from the settings, else the default', () => {
    const sized = planLaunch({ ...base, sandboxRoot: '/srv', sandboxTmpBytes: 4096 });
    expect(sized.args.filter((arg, i) => sized.args[i - 1] === '--size')).toStrictEqual(['4096', '4096']);
    const plain = planLaunch({ ...base, sandboxRoot: '/srv' });
    expect(plain.args.filter((arg, i) => plain.args[i - 1] === '--size')).toStrictEqual([
      String(DEFAULT_TMP_BYTES),
      String(DEFAULT_TMP_BYTES),
    ]);
  });
});

describe('bwrapArgs', () => {
  const args = bwrapArgs('/srv/lab', '/srv/lab/x', ['/opt/helper.mjs'], 1234);
  const at = (...sequence: string[]): number =>
    args.findIndex((_, i) => sequence.every((word, j) => args[i + j] === word));

  it('gives /tmp and /dev/shm a tmpfs of the size each, /dev/shm after --dev', () => {
    expect(at('--size', '1234', '--tmpfs', '/tmp')).toBeGreaterThanOrEqual(0);
    expect(at('--size', '1234', '--tmpfs', '/dev/shm')).toBeGreaterThan(at('--dev', '/dev'));
    expect(args.filter((arg) => arg === '--tmpfs')).toHaveLength(2);
    expect(args.filter((arg) => arg === '--size')).toHaveLength(2);
  });

  it('makes the sandbox root and /dev read-only after every mount', () => {
    const lastMount = Math.max(
      at('--bind', '/srv/lab', '/srv/lab'),
      at('--ro-bind', '/opt/helper.mjs', '/opt/helper.mjs'),
      at('--tmpfs', '/dev/shm'),
    );
    expect(at('--remount-ro', '/dev')).toBeGreaterThan(lastMount);
    expect(at('--remount-ro', '/')).toBeGreaterThan(lastMount);
    expect(at('--chdir', '/srv/lab/x')).toBeGreaterThan(at('--remount-ro', '/'));
  });

  it('defaults to DEFAULT_TMP_BYTES', () => {
    expect(bwrapArgs('/r', '/r').filter((arg, i, all) => all[i - 1] === '--size')).toStrictEqual([
      String(DEFAULT_TMP_BYTES),
      String(DEFAULT_TMP_BYTES),
    ]);
  });
});

describe('prlimitArgs', () => {
  const all = { nproc: 50, addressSpaceBytes: 1 << 30, cpuSeconds: 60, fileSizeBytes: 1 << 20, openFiles: 64 };

  it('gives a flag for each limit that is set, and none for the others', () => {
    expect(prlimitArgs({})).toStrictEqual([]);
    expect(prlimitArgs(all)).toStrictEqual([
      '--nproc=50',
      '--as=1073741824',
      '--cpu=60',
      '--fsize=1048576',
      '--nofile=64',
    ]);
    expect(prlimitArgs({ cpuSeconds: 1 })).toStrictEqual(['--cpu=1']);
  });

  // What the flags mean, read back by the kernel: soft and hard limits alike.
  it('sets each as the soft and the hard limit of the command', () => {
    const result = spawnSync(PRLIMIT, [...prlimitArgs(all), '--', '/bin/cat', '/proc/self/limits'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    const limit = (name: string): string[] => {
      const line = result.stdout.split('\n').find((row) => row.startsWith(name)) ?? '';
      return line.slice(name.length).trim().split(/\s+/).slice(0, 2);
    };
    expect(limit('Max processes')).toStrictEqual(['50', '50']);
    expect(limit('Max address space')).toStrictEqual(['1073741824', '1073741824']);
    expect(limit('Max cpu time')).toStrictEqual(['60', '60']);
    expect(limit('Max file size')).toStrictEqual(['1048576', '1048576']);
    expect(limit('Max open files')).toStrictEqual(['64', '64']);
  });
});

describe('inSandboxView', () => {
  it('is true for the system directories every sandbox shows, and what is under them', () => {
    for (const dir of ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt']) {
      expect(inSandboxView(dir), dir).toBe(true);
      expect(inSandboxView(`${dir}/x/node`), dir).toBe(true);
    }
  });

  it('is false for anything else, also a name that merely starts like one', () => {
    for (const path of [
      '/usrlocal/bin/node',
      '/home/teacher/node',
      '/optx',
      '/',
      '/tmp/helper.mjs',
      '/srv/usr/bin/node',
    ]) {
      expect(inSandboxView(path), path).toBe(false);
    }
  });
});

// The built argv run by the real bubblewrap (one run, well under a second): what the
// command sees of the machine, from inside.
describe.runIf(process.getuid?.() === 0 && existsSync(BWRAP))('the sandbox, seen from inside', () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'rexec-sandbox-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // The jail below /tmp (the sandbox's /tmp is a tmpfs mounted before it), a file of the
  // helper's outside it, and a cwd inside it.
  const jail = join(dir, 'jail');
  const helper = join(dir, 'helper', 'file-helper.mjs');
  mkdirSync(join(jail, 'work'), { recursive: true });
  mkdirSync(join(dir, 'helper'));
  writeFileSync(helper, '');
  const tmpBytes = 8 * 1024 * 1024;
  const script = [
    'cat /proc/self/mountinfo',
    'echo "@hostname $(cat /proc/sys/kernel/hostname)"',
    'echo "@cwd $(pwd -P)"',
    'for ns in net ipc uts pid cgroup; do echo "@ns $ns $(readlink /proc/self/ns/$ns)"; done',
    `for path in / /dev /usr /bin /etc /opt /tmp /dev/shm ${jail}; do touch "$path/.w" 2>/dev/null && echo "@writable $path"; done`,
    `touch ${helper} 2>/dev/null && echo "@writable ${helper}"`,
    'exit 0',
  ].join('; ');
  const run = spawnSync(
    BWRAP,
    [...bwrapArgs(jail, join(jail, 'work'), [helper], tmpBytes), '--', '/bin/sh', '-c', script],
    {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin' },
    },
  );
  const lines = run.stdout.split('\n');
  const facts = (tag: string): string[] =>
    lines.filter((line) => line.startsWith(`@${tag} `)).map((line) => line.slice(tag.length + 2));
  // mountinfo: mount point (field 5), its options (6), and after " - ": type, source, super options.
  const mounts = new Map(
    lines
      .filter((line) => / - /.test(line))
      .map((line) => {
        const [left = '', right = ''] = line.split(' - ');
        const fields = left.split(' ');
        const [type = '', , superOptions = ''] = right.split(' ');
        return [
          fields[4] ?? '',
          { readOnly: (fields[5] ?? '').split(',').includes('ro'), type, superOptions: superOptions.split(',') },
        ] as const;
      }),
  );

  it('starts', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('shows the system directories the machine has, read-only', () => {
    for (const dir of ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'].filter((path) =>
      existsSync(path),
    )) {
      expect(mounts.get(dir), dir).toMatchObject({ readOnly: true });
    }
  });

  it('gives /tmp and /dev/shm a tmpfs of the size asked each', () => {
    for (const dir of ['/tmp', '/dev/shm']) {
      expect(mounts.get(dir), dir).toMatchObject({ readOnly: false, type: 'tmpfs' });
      expect(mounts.get(dir)?.superOptions, dir).toContain(`size=${tmpBytes / 1024}k`);
    }
  });

  it('makes / and /dev read-only, /proc its own', () => {
    expect(mounts.get('/')).toMatchObject({ readOnly: true });
    expect(mounts.get('/dev')).toMatchObject({ readOnly: true });
    expect(mounts.get('/proc')).toMatchObject({ type: 'proc' });
  });

  it('lets the command write into its jail, /tmp and /dev/shm, and nowhere else', () => {
    expect(facts('writable')).toStrictEqual(['/tmp', '/dev/shm', jail]);
    expect(mounts.get(helper)).toMatchObject({ readOnly: true });
    // Of the file systems mounted (device nodes, /proc and /dev/pts aside), only those three are writable.
    const writable = [...mounts].filter(
      ([, mount]) => !mount.readOnly && !['proc', 'devtmpfs', 'devpts'].includes(mount.type),
    );
    expect(writable.map(([point]) => point)).toStrictEqual(['/tmp', '/dev/shm', jail]);
  });

  it('has a host name and namespaces of its own, and starts in the cwd given', () => {
    expect(facts('hostname')).toStrictEqual(['rexec-sandbox']);
    expect(facts('cwd')).toStrictEqual([join(jail, 'work')]);
    const own = facts('ns');
    expect(own).toHaveLength(5);
    for (const entry of own) {
      const [name = '', link] = entry.split(' ');
      expect(link, name).not.toBe(readlinkSync(`/proc/self/ns/${name}`));
    }
  });

  it('dies with rexecd (--die-with-parent; no --new-session: it stays in the group rexecd signals)', () => {
    const args = bwrapArgs('/r', '/r');
    expect(args).toContain('--die-with-parent');
    expect(args).not.toContain('--new-session');
    // Nothing bound read-only but the system directories when no extra path is given.
    expect(args).not.toContain('--ro-bind');
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
  const run = (
    adj: string,
    pwd: string,
    procs: readonly string[],
    command: readonly string[],
    env: Record<string, string> = {},
  ) =>
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
    const result = run(
      '500',
      '-',
      [],
      ['/bin/sh', '-c', 'printf "[%s]" "$@"; exit 7', 'sh', '--', '', 'a b', '$HOME', '-c'],
    );
    expect(result.stdout).toBe('[--][][a b][$HOME][-c]');
    expect(result.status).toBe(7);
  });

  it("keeps the environment as given: no PWD of its own, or the command's own PWD", () => {
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
