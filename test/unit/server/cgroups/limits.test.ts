import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  controllersFor,
  cpuWeightToShares,
  groupName,
  limitFiles,
  SHARED_PRINCIPAL,
} from '../../../../src/server/cgroups/limits.js';

describe('controllersFor', () => {
  it('names the controller of each limit that is set, in a fixed order', () => {
    expect(controllersFor({})).toStrictEqual([]);
    expect(controllersFor({ cpuWeight: 100, memoryBytes: 1 })).toStrictEqual(['memory', 'cpu']);
    expect(controllersFor({ maxProcesses: 10 })).toStrictEqual(['pids']);
    expect(controllersFor({ cpuWeight: 1, maxProcesses: 2, memoryBytes: 3 })).toStrictEqual(['memory', 'pids', 'cpu']);
  });
});

describe('limitFiles', () => {
  const all = { memoryBytes: 209_715_200, maxProcesses: 64, cpuWeight: 200 };

  it('v2: memory.max with swap closed, pids.max, cpu.weight as given', () => {
    expect(limitFiles(2, all)).toStrictEqual([
      { controller: 'memory', file: 'memory.max', value: '209715200', optional: false },
      { controller: 'memory', file: 'memory.swap.max', value: '0', optional: true },
      { controller: 'pids', file: 'pids.max', value: '64', optional: false },
      { controller: 'cpu', file: 'cpu.weight', value: '200', optional: false },
    ]);
  });

  it('v1: the limit before memsw (which may not undercut it), pids.max, cpu.shares from the weight', () => {
    expect(limitFiles(1, all)).toStrictEqual([
      { controller: 'memory', file: 'memory.limit_in_bytes', value: '209715200', optional: false },
      { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: '209715200', optional: true },
      { controller: 'pids', file: 'pids.max', value: '64', optional: false },
      { controller: 'cpu', file: 'cpu.shares', value: '2048', optional: false },
    ]);
  });

  it('writes nothing for limits that are not set', () => {
    expect(limitFiles(1, {})).toStrictEqual([]);
    expect(limitFiles(2, { maxProcesses: 5 }).map((limit) => limit.file)).toStrictEqual(['pids.max']);
  });
});

describe('cpuWeightToShares', () => {
  it('keeps the proportion to the default: weight 100 is 1024 shares', () => {
    expect(cpuWeightToShares(100)).toBe(1024);
    expect(cpuWeightToShares(50)).toBe(512);
    expect(cpuWeightToShares(10_000)).toBe(102_400);
    expect(cpuWeightToShares(1)).toBe(10);
    expect(cpuWeightToShares(3)).toBe(31);
  });

  it('stays within what the kernel takes (2..262144)', () => {
    expect(cpuWeightToShares(0)).toBe(2);
    expect(cpuWeightToShares(1_000_000)).toBe(262_144);
  });
});

describe('groupName', () => {
  it('prefixes plain user names, so that none is a cgroupfs file or "." or ".."', () => {
    expect(groupName('alice')).toBe('user-alice');
    expect(groupName('..')).toBe('user-..');
    expect(groupName('.')).toBe('user-.');
    expect(groupName('cgroup.procs')).toBe('user-cgroup.procs');
    expect(groupName('a'.repeat(64))).toBe(`user-${'a'.repeat(64)}`);
  });

  it('never lets a name become a path: anything else is known by its SHA-256', () => {
    for (const hostile of ['../etc', 'a/b', '/', 'é', 'a b', '', 'a'.repeat(65), 'x\0y']) {
      const name = groupName(hostile);
      expect(name).toMatch(/^sha256-[0-9a-f]{64}$/);
    }
    expect(groupName('a/b')).not.toBe(groupName('a/c'));
    expect(groupName('../etc')).toBe(`sha256-${createHash('sha256').update('../etc').digest('hex')}`);
  });

  it('gives the clients of a shared key one group', () => {
    expect(groupName(SHARED_PRINCIPAL)).toBe('shared');
  });
});
