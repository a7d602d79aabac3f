import { describe, expect, it } from 'vitest';
import { Confiner, controllersNeeded } from '../../../src/server/confinement.js';
import type { ConfinementLease } from '../../../src/server/confinement.js';
import { basePolicy } from '../../../src/server/policy/user-policy.js';
import type { UserPolicy } from '../../../src/server/policy/user-policy.js';
import { spawnProcess } from '../../../src/server/spawn.js';
import type { SpawnedProcess } from '../../../src/server/spawn.js';

const policy = basePolicy({
  root: '/',
  allowShell: false,
  timeoutMs: 1000,
  maxConcurrent: 1,
  maxOutputBytes: undefined,
});
const limited = (cgroupLimits: UserPolicy['cgroupLimits']): UserPolicy => ({ ...policy, cgroupLimits });
const IS_ROOT = process.getuid?.() === 0;

describe('controllersNeeded', () => {
  it('is every controller some policy needs, once each, in a fixed order', () => {
    expect(controllersNeeded([policy])).toStrictEqual([]);
    expect(
      controllersNeeded([limited({ cpuWeight: 5 }), policy, limited({ memoryBytes: 1, cpuWeight: 2 })]),
    ).toStrictEqual(['memory', 'cpu']);
  });
});

describe('Confiner.confine', () => {
  it('applies nothing when rexecd is not root, or is root with its score untouched and no cgroup limits', () => {
    expect(
      new Confiner({ tree: undefined, root: false, ownOomScoreAdj: -900 }).confine('alice', policy, 1),
    ).toBeUndefined();
    expect(
      new Confiner({ tree: undefined, root: true, ownOomScoreAdj: 0 }).confine('alice', policy, 1),
    ).toBeUndefined();
  });

  it('raises the score of every command of a lowered root rexecd, without cgroups', () => {
    const lease = new Confiner({ tree: undefined, root: true, ownOomScoreAdj: -900 }).confine(
      'alice',
      policy,
      1,
    ) as ConfinementLease;
    expect(lease.confinement).toStrictEqual({ cgroupProcs: [], oomScoreAdj: 500 });
    expect(() => lease.release()).not.toThrow();
  });

  it('refuses to run a cgroup-limited command unconfined', () => {
    const confiner = new Confiner({ tree: undefined, root: true, ownOomScoreAdj: 0 });
    expect(() => confiner.confine('alice', limited({ maxProcesses: 3 }), 7)).toThrow(
      expect.objectContaining({ code: 'SPAWN_FAILED', id: 7 }),
    );
  });

  // The launch of a lowered root rexecd: preamble (score), setpriv (runAs), the command.
  it.runIf(IS_ROOT)('starts such a command raised, as the runAs account, with nothing else changed', async () => {
    const lease = new Confiner({ tree: undefined, root: true, ownOomScoreAdj: -900 }).confine(
      'alice',
      policy,
      1,
    ) as ConfinementLease;
    const spawned = spawnProcess({
      id: 1,
      file: '/bin/sh',
      args: ['-c', 'cat /proc/self/oom_score_adj; id -u; id -G; echo $$'],
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
      stdin: false,
      merge: false,
      uid: 65534,
      gid: 65534,
      confinement: lease.confinement,
    }) as SpawnedProcess;
    let out = '';
    spawned.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const closed = new Promise((resolve) => spawned.stdout.once('close', resolve));
    const end = await spawned.exited;
    await closed;
    expect(end).toStrictEqual({ code: 0, signal: null });
    expect(out.trim().split('\n')).toStrictEqual(['500', '65534', '65534', String(spawned.pid)]);
  });
});
