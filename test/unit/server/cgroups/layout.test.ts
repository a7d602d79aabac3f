import { describe, expect, it } from 'vitest';
import {
  chooseLayout,
  dirUnder,
  parseMountInfo,
  parseProcCgroup,
  v1Dirs,
  v2Dir,
} from '../../../../src/server/cgroups/layout.js';

// What a Debian 12 development box with v1 controllers shows (hybrid: v2 without controllers).
const HYBRID_MOUNTS = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '39 31 0:36 / /sys/fs/cgroup/pids rw,relatime shared:7 master:3 - cgroup cgroup rw,pids',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const HYBRID_CGROUP = ['9:name=systemd:/', '8:pids:/', '4:memory:/lab/box 1', '1:cpu:/', '0::/'].join('\n');

describe('parseMountInfo', () => {
  it('reads root, mount point, type and super options past the optional fields', () => {
    const [first, , , pids] = parseMountInfo(HYBRID_MOUNTS);
    expect(first).toStrictEqual({
      root: '/',
      mountPoint: '/sys/fs/cgroup',
      fsType: 'tmpfs',
      superOptions: ['rw', 'mode=755'],
    });
    expect(pids).toStrictEqual({
      root: '/',
      mountPoint: '/sys/fs/cgroup/pids',
      fsType: 'cgroup',
      superOptions: ['rw', 'pids'],
    });
  });

  it('decodes the octal escapes of paths and skips lines that do not parse', () => {
    const mounts = parseMountInfo('50 1 0:40 /a\\040b /mnt/x\\134y\\011z rw - cgroup2 none rw\nnonsense\n\n');
    expect(mounts).toStrictEqual([
      { root: '/a b', mountPoint: '/mnt/x\\y\tz', fsType: 'cgroup2', superOptions: ['rw'] },
    ]);
  });
});

describe('parseProcCgroup', () => {
  it('reads the v2 path and each v1 controller\'s path (paths may hold ":" and spaces)', () => {
    const membership = parseProcCgroup(`${HYBRID_CGROUP}\n2:cpu,cpuacct:/a:b\n`);
    expect(membership.v2Path).toBe('/');
    expect(membership.v1Paths.get('memory')).toBe('/lab/box 1');
    expect(membership.v1Paths.get('pids')).toBe('/');
    expect(membership.v1Paths.get('cpu')).toBe('/a:b');
    expect(membership.v1Paths.get('cpuacct')).toBe('/a:b');
    expect(membership.v1Paths.get('name=systemd')).toBe('/');
  });

  it('a pure v2 machine has one line', () => {
    const membership = parseProcCgroup('0::/system.slice/rexecd.service\n');
    expect(membership.v2Path).toBe('/system.slice/rexecd.service');
    expect(membership.v1Paths.size).toBe(0);
  });

  it('has no v2 path without a "0::" line', () => {
    expect(parseProcCgroup('4:memory:/x\n').v2Path).toBeUndefined();
  });
});

describe('dirUnder', () => {
  const mount = (root: string, mountPoint = '/sys/fs/cgroup') => ({
    root,
    mountPoint,
    fsType: 'cgroup2',
    superOptions: [],
  });

  it('joins the group path to a mount of the whole hierarchy', () => {
    expect(dirUnder(mount('/'), '/')).toBe('/sys/fs/cgroup');
    expect(dirUnder(mount('/'), '/system.slice/x.service')).toBe('/sys/fs/cgroup/system.slice/x.service');
    expect(dirUnder(mount('/', '/'), '/a')).toBe('/a');
  });

  it("takes the mount's own root off (a container that mounts its subtree)", () => {
    expect(dirUnder(mount('/docker/abc'), '/docker/abc')).toBe('/sys/fs/cgroup');
    expect(dirUnder(mount('/docker/abc'), '/docker/abc/rexecd')).toBe('/sys/fs/cgroup/rexecd');
  });

  it('does not show groups outside the mounted subtree', () => {
    expect(dirUnder(mount('/docker/abc'), '/docker/abcd')).toBeUndefined();
    expect(dirUnder(mount('/docker/abc'), '/')).toBeUndefined();
  });
});

describe('v2Dir and v1Dirs', () => {
  const mounts = parseMountInfo(HYBRID_MOUNTS);
  const membership = parseProcCgroup(HYBRID_CGROUP);

  it("find rexecd's own group in each hierarchy", () => {
    expect(v2Dir(mounts, membership)).toBe('/sys/fs/cgroup/unified');
    expect(v1Dirs(mounts, membership)).toStrictEqual(
      new Map([
        ['memory', '/sys/fs/cgroup/memory/lab/box 1'],
        ['pids', '/sys/fs/cgroup/pids'],
        ['cpu', '/sys/fs/cgroup/cpu'],
      ]),
    );
  });

  it('find co-mounted controllers (cpu,cpuacct) and skip controllers without a mount', () => {
    const shared = parseMountInfo('32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct');
    const dirs = v1Dirs(shared, parseProcCgroup('2:cpu,cpuacct:/u\n4:memory:/u\n'));
    expect(dirs).toStrictEqual(new Map([['cpu', '/sys/fs/cgroup/cpu,cpuacct/u']]));
  });

  it('find nothing when the hierarchy is not mounted', () => {
    expect(v2Dir([], membership)).toBeUndefined();
    expect(v1Dirs([], membership).size).toBe(0);
  });
});

describe('chooseLayout', () => {
  const v1 = new Map([
    ['memory', '/m'],
    ['pids', '/p'],
    ['cpu', '/c'],
  ] as const);

  it('prefers v2 when it offers every controller needed', () => {
    const offer = { v2: { dir: '/u', controllers: new Set(['memory', 'pids', 'cpu']) }, v1 };
    expect(chooseLayout(['memory', 'pids'], offer)).toStrictEqual({ version: 2, dir: '/u' });
  });

  it('falls back to v1, with only the hierarchies needed', () => {
    const offer = { v2: { dir: '/u', controllers: new Set(['hugetlb']) }, v1 };
    expect(chooseLayout(['memory', 'cpu'], offer)).toStrictEqual({
      version: 1,
      dirs: new Map([
        ['memory', '/m'],
        ['cpu', '/c'],
      ]),
    });
  });

  it('refuses a mix, and says what each version lacks', () => {
    const offer = { v2: { dir: '/u', controllers: new Set(['pids']) }, v1: new Map([['memory', '/m']] as const) };
    const choice = chooseLayout(['memory', 'pids'], offer);
    expect(choice).toStrictEqual({
      problem:
        'the policy needs the cgroup controllers memory, pids: cgroup v2 at /u offers pids, and cgroup v1 has no hierarchy for pids',
    });
    expect(chooseLayout(['cpu'], { v2: undefined, v1: new Map() })).toStrictEqual({
      problem:
        'the policy needs the cgroup controllers cpu: no cgroup v2 hierarchy, and cgroup v1 has no hierarchy for cpu',
    });
    expect(chooseLayout(['cpu'], { v2: { dir: '/u', controllers: new Set() }, v1: new Map() })).toMatchObject({
      problem: expect.stringContaining('cgroup v2 at /u offers no controllers'),
    });
  });
});

describe('malformed and unusual text', () => {
  it('mountinfo: skips lines without the " - " separator or with too few fields after it', () => {
    const text = [
      '1 2 3:4 / /no/separator rw shared:1',
      '1 2 3:4 / /too/short rw - cgroup2',
      '1 2 3:4 / /fine rw - cgroup2 cgroup2 rw',
    ].join('\n');
    expect(parseMountInfo(text)).toStrictEqual([
      { root: '/', mountPoint: '/fine', fsType: 'cgroup2', superOptions: ['rw'] },
    ]);
  });

  it('/proc/self/cgroup: reads `0::/path` as v2 and `N:ctl,ctl:/path` as v1, and nothing else', () => {
    const membership = parseProcCgroup(
      ['/no/colons', '/a:memory/x', '5:pids:relative/path', '0::/v2', '1::/no-controllers', '4:memory:/m'].join('\n'),
    );
    expect(membership.v2Path).toBe('/v2');
    expect([...membership.v1Paths]).toStrictEqual([['memory', '/m']]);
    // Hierarchy 0 with controllers is a v1 line like any other.
    const zero = parseProcCgroup('0:cpu:/c\n');
    expect(zero.v2Path).toBeUndefined();
    expect([...zero.v1Paths]).toStrictEqual([['cpu', '/c']]);
  });

  it('v2Dir: no group without a v2 path; the mount that shows the group, not the first cgroup2 mount', () => {
    const mounts = [
      { root: '/other', mountPoint: '/mnt/other', fsType: 'cgroup2', superOptions: ['rw'] },
      { root: '/', mountPoint: '/sys/fs/cgroup', fsType: 'cgroup2', superOptions: ['rw'] },
    ];
    expect(v2Dir(mounts, parseProcCgroup('4:memory:/x\n'))).toBeUndefined();
    expect(v2Dir(mounts, parseProcCgroup('0::/svc\n'))).toBe('/sys/fs/cgroup/svc');
  });

  it('v1Dirs: only cgroup (v1) mounts of the controller that show the group; none for a controller rexecd is not in', () => {
    const mounts = [
      { root: '/', mountPoint: '/mnt/not-v1', fsType: 'cgroup2', superOptions: ['rw', 'memory'] },
      { root: '/elsewhere', mountPoint: '/mnt/subtree', fsType: 'cgroup', superOptions: ['rw', 'memory'] },
      { root: '/', mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', superOptions: ['rw', 'memory'] },
      { root: '/', mountPoint: '/sys/fs/cgroup/pids', fsType: 'cgroup', superOptions: ['rw', 'pids'] },
    ];
    expect(v1Dirs(mounts, parseProcCgroup('4:memory:/lab\n'))).toStrictEqual(
      new Map([['memory', '/sys/fs/cgroup/memory/lab']]),
    );
  });

  it('chooseLayout names every controller v1 lacks', () => {
    expect(chooseLayout(['memory', 'pids'], { v2: undefined, v1: new Map() })).toStrictEqual({
      problem:
        'the policy needs the cgroup controllers memory, pids: no cgroup v2 hierarchy, and cgroup v1 has no hierarchy for memory, pids',
    });
  });
});
