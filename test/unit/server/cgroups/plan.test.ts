// Where a tree's directories go and what is written into a user's group (pure).
import { describe, expect, it } from 'vitest';
import { groupDirs, groupWrites, planTree, toggle } from '../../../../src/server/cgroups/tree.js';

const v1 = {
  version: 1 as const,
  dirs: new Map([
    ['memory', '/cg/memory/lab'],
    ['pids', '/cg/pids'],
    ['cpu', '/cg/cpu,cpuacct'],
  ] as const),
};

describe('planTree', () => {
  it("v2: one subtree under rexecd's own group, and a leaf for rexecd itself", () => {
    expect(planTree({ version: 2, dir: '/sys/fs/cgroup/x.service' }, ['memory', 'cpu'], 'rexecd-42')).toStrictEqual({
      version: 2,
      hierarchies: [{ dir: '/sys/fs/cgroup/x.service', controllers: ['memory', 'cpu'] }],
      subtrees: ['/sys/fs/cgroup/x.service/rexecd-42'],
      daemonLeaf: '/sys/fs/cgroup/x.service/rexecd-42-daemon',
    });
  });

  it('v1: one subtree per hierarchy that a needed controller lives in, no leaf', () => {
    expect(planTree(v1, ['memory', 'pids', 'cpu'], 'rexecd-7')).toStrictEqual({
      version: 1,
      hierarchies: [
        { dir: '/cg/memory/lab', controllers: ['memory'] },
        { dir: '/cg/pids', controllers: ['pids'] },
        { dir: '/cg/cpu,cpuacct', controllers: ['cpu'] },
      ],
      subtrees: ['/cg/memory/lab/rexecd-7', '/cg/pids/rexecd-7', '/cg/cpu,cpuacct/rexecd-7'],
      daemonLeaf: undefined,
    });
    expect(planTree(v1, ['pids'], 'rexecd-7').subtrees).toStrictEqual(['/cg/pids/rexecd-7']);
  });

  it('v1: controllers mounted together share one directory', () => {
    const together = {
      version: 1 as const,
      dirs: new Map([
        ['memory', '/cg/mp'],
        ['pids', '/cg/mp'],
      ] as const),
    };
    const plan = planTree(together, ['memory', 'pids'], 'rexecd-1');
    expect(plan.hierarchies).toStrictEqual([{ dir: '/cg/mp', controllers: ['memory', 'pids'] }]);
    expect(groupDirs(plan, 'bob')).toStrictEqual(['/cg/mp/rexecd-1/user-bob']);
  });
});

describe('groupDirs', () => {
  it("puts each principal's group in every subtree, under a name that is never a path", () => {
    const plan = planTree(v1, ['memory', 'pids'], 'rexecd-7');
    expect(groupDirs(plan, 'alice')).toStrictEqual([
      '/cg/memory/lab/rexecd-7/user-alice',
      '/cg/pids/rexecd-7/user-alice',
    ]);
    expect(groupDirs(plan, '../../x')[0]).toMatch(/^\/cg\/memory\/lab\/rexecd-7\/sha256-[0-9a-f]{64}$/);
    expect(groupDirs(plan, '*')).toStrictEqual(['/cg/memory/lab/rexecd-7/shared', '/cg/pids/rexecd-7/shared']);
  });
});

describe('groupWrites', () => {
  it("writes each limit into the directory of its controller's hierarchy", () => {
    const plan = planTree(v1, ['memory', 'pids', 'cpu'], 'rexecd-7');
    const dirs = groupDirs(plan, 'alice');
    expect(groupWrites(plan, dirs, { memoryBytes: 1 << 24, maxProcesses: 9, cpuWeight: 100 })).toStrictEqual([
      { path: '/cg/memory/lab/rexecd-7/user-alice/memory.limit_in_bytes', value: '16777216', optional: false },
      { path: '/cg/memory/lab/rexecd-7/user-alice/memory.memsw.limit_in_bytes', value: '16777216', optional: true },
      { path: '/cg/pids/rexecd-7/user-alice/pids.max', value: '9', optional: false },
      { path: '/cg/cpu,cpuacct/rexecd-7/user-alice/cpu.shares', value: '1024', optional: false },
    ]);
  });

  it('skips a limit whose controller the tree does not use', () => {
    const plan = planTree(v1, ['pids'], 'rexecd-7');
    expect(groupWrites(plan, groupDirs(plan, 'a'), { memoryBytes: 1 << 24, maxProcesses: 3 })).toStrictEqual([
      { path: '/cg/pids/rexecd-7/user-a/pids.max', value: '3', optional: false },
    ]);
  });

  it('v2: every file in the one group', () => {
    const plan = planTree({ version: 2, dir: '/u' }, ['memory', 'pids', 'cpu'], 'rexecd-1');
    expect(
      groupWrites(plan, groupDirs(plan, 'a'), { cpuWeight: 5, maxProcesses: 2 }).map((write) => write.path),
    ).toStrictEqual(['/u/rexecd-1/user-a/pids.max', '/u/rexecd-1/user-a/cpu.weight']);
  });
});

describe('toggle', () => {
  it('writes the controllers to enable or disable in one line', () => {
    expect(toggle('+', ['memory', 'pids', 'cpu'])).toBe('+memory +pids +cpu');
    expect(toggle('-', ['cpu'])).toBe('-cpu');
    expect(toggle('+', [])).toBe('');
  });
});
