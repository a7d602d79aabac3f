// rexecd's cgroup v2 subtree, against a temporary directory laid out like cgroupfs
// (this machine's controllers are on v1): what rexecd writes where, the preamble's
// join, and removal. The emulation keeps the kernel's rules (test/helpers/fake-cgroupfs.ts).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectCgroups } from '../../../../src/server/cgroups/detect.js';
import { CgroupTree } from '../../../../src/server/cgroups/tree.js';
import type { CgroupLease } from '../../../../src/server/cgroups/user-group.js';
import { spawnProcess } from '../../../../src/server/spawn.js';
import type { SpawnedProcess } from '../../../../src/server/spawn.js';
import { FakeCgroupFs } from '../../../helpers/fake-cgroupfs.js';
import { waitUntil } from '../../../helpers/raw-client.js';

const LIMITS = { memoryBytes: 100 * 1024 * 1024, maxProcesses: 32, cpuWeight: 250 };

describe('cgroup v2 (emulated hierarchy)', () => {
  let fs: FakeCgroupFs;
  let service: string;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    fs = await FakeCgroupFs.create();
    // rexecd runs alone in its own service group (systemd Delegate=yes).
    await fs.mkdir(join(fs.root, 'system.slice'));
    await fs.write(join(fs.root, 'system.slice', 'cgroup.subtree_control'), '+memory +pids +cpu');
    service = join(fs.root, 'system.slice', 'rexecd.service');
    await fs.mkdir(service);
    await fs.write(join(service, 'cgroup.procs'), String(process.pid));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await fs.remove();
  });

  function tree(idleMs = 20): CgroupTree {
    const layout = detectCgroups(['memory', 'pids', 'cpu'], fs.sources('/system.slice/rexecd.service'));
    return new CgroupTree({ layout, controllers: ['memory', 'pids', 'cpu'], fs, idleMs });
  }

  function sleeper(): ChildProcess {
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  it("finds rexecd's group from /proc/self, and refuses a group that other processes share", async () => {
    expect(detectCgroups(['memory'], fs.sources('/system.slice/rexecd.service'))).toStrictEqual({
      version: 2,
      dir: service,
    });
    const other = sleeper();
    await fs.write(join(service, 'cgroup.procs'), String(other.pid));
    expect(() => detectCgroups(['memory'], fs.sources('/system.slice/rexecd.service'))).toThrow(/Delegate=yes/);
  });

  it('refuses when the group is not offered a controller the policy needs', async () => {
    await fs.write(join(fs.root, 'system.slice', 'cgroup.subtree_control'), '-cpu');
    const poorer = join(fs.root, 'system.slice', 'poor.service');
    await fs.mkdir(poorer);
    expect(() => detectCgroups(['memory', 'cpu'], fs.sources('/system.slice/poor.service'))).toThrow(
      /cgroup v2 at .*poor\.service offers memory pids/,
    );
  });

  it('moves rexecd into a leaf of its group, then enables the controllers below it and in its subtree', async () => {
    const cgroups = tree();
    await cgroups.start();
    const [subtree] = cgroups.plan.subtrees;
    const leaf = cgroups.plan.daemonLeaf as string;
    expect(leaf).toBe(`${service}/rexecd-${process.pid}-daemon`);
    expect(fs.members(leaf)).toStrictEqual([process.pid]);
    expect(fs.members(service)).toStrictEqual([]);
    expect((await fs.read(join(service, 'cgroup.subtree_control'))).split(' ').sort()).toStrictEqual([
      'cpu',
      'memory',
      'pids',
    ]);
    expect(subtree).toBe(`${service}/rexecd-${process.pid}`);
    expect((await fs.read(`${subtree}/cgroup.subtree_control`)).split(' ').sort()).toStrictEqual([
      'cpu',
      'memory',
      'pids',
    ]);
    await cgroups.stop(0);
  });

  it("creates a user's group with the policy's limits once, and a command joins it before it runs", async () => {
    const cgroups = tree();
    await cgroups.start();
    const group = `${cgroups.plan.subtrees[0]}/user-alice`;
    const first = cgroups.join('alice', LIMITS, 1);
    expect(first).toBeInstanceOf(Promise);
    const lease = await first;
    expect(lease.procs).toStrictEqual([`${group}/cgroup.procs`]);
    expect(await fs.read(`${group}/memory.max`)).toBe(String(LIMITS.memoryBytes));
    expect(await fs.read(`${group}/memory.swap.max`)).toBe('0');
    expect(await fs.read(`${group}/pids.max`)).toBe('32');
    expect(await fs.read(`${group}/cpu.weight`)).toBe('250');
    // The group exists: the next command of the user joins at once.
    const second = cgroups.join('alice', LIMITS, 2) as CgroupLease;
    expect(second.procs).toStrictEqual(lease.procs);

    const spawned = spawnProcess({
      id: 1,
      file: '/bin/sh',
      args: ['-c', 'echo $$; cat /proc/self/oom_score_adj'],
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
      stdin: false,
      merge: false,
      confinement: { cgroupProcs: lease.procs, oomScoreAdj: 500 },
    }) as SpawnedProcess;
    let out = '';
    spawned.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await spawned.exited;
    await waitUntil(() => out.split('\n').length >= 3, 'the output');
    const [pid, score] = out.trim().split('\n');
    expect(Number(pid)).toBe(spawned.pid);
    expect(fs.members(group)).toStrictEqual([spawned.pid]);
    expect(score).toBe('500');
    lease.release();
    second.release();
    await cgroups.stop(0);
  });

  it('removes a group once nothing uses it, and retries while a process is still inside', async () => {
    const cgroups = tree();
    await cgroups.start();
    const group = `${cgroups.plan.subtrees[0]}/user-bob`;
    const lease = await cgroups.join('bob', LIMITS, 1);
    const straggler = sleeper();
    await fs.write(`${group}/cgroup.procs`, String(straggler.pid));
    lease.release();
    lease.release();
    // Busy: it stays while the straggler lives (the kernel refuses the removal).
    await waitUntil(() => (fs.busyRemovals.get(group) ?? 0) >= 2, 'two removals refused', 10_000);
    expect(existsSync(group)).toBe(true);
    straggler.kill('SIGKILL');
    await waitUntil(() => !existsSync(group), "bob's group to go", 10_000);
    // And it comes back with its limits for the next command.
    const again = await cgroups.join('bob', { maxProcesses: 7 }, 2);
    expect(await fs.read(`${group}/pids.max`)).toBe('7');
    again.release();
    await cgroups.stop(0);
  });

  it('a join during the idle time keeps the group', async () => {
    const cgroups = tree(100);
    await cgroups.start();
    const group = `${cgroups.plan.subtrees[0]}/user-carol`;
    (await cgroups.join('carol', LIMITS, 1)).release();
    const next = cgroups.join('carol', LIMITS, 2) as CgroupLease;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(existsSync(group)).toBe(true);
    next.release();
    await waitUntil(() => !existsSync(group), "carol's group to go", 10_000);
    await cgroups.stop(0);
  });

  it('stop kills what is left in the groups, removes everything and puts rexecd back', async () => {
    const cgroups = tree();
    await cgroups.start();
    const group = `${cgroups.plan.subtrees[0]}/user-dave`;
    await cgroups.join('dave', LIMITS, 1);
    const left = sleeper();
    await fs.write(`${group}/cgroup.procs`, String(left.pid));
    const exited = new Promise((resolve) => left.once('exit', (_code, signal) => resolve(signal)));
    await cgroups.stop(50);
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(cgroups.plan.subtrees[0] as string)).toBe(false);
    expect(existsSync(cgroups.plan.daemonLeaf as string)).toBe(false);
    expect(fs.members(service)).toStrictEqual([process.pid]);
    expect(await fs.read(join(service, 'cgroup.subtree_control'))).toBe('');
    expect(() => cgroups.join('dave', LIMITS, 2)).toThrow(/shutting down/);
  });

  it("a rexecd in the root group stays there and leaves the root's controllers on", async () => {
    await fs.write(join(fs.root, 'cgroup.procs'), String(process.pid));
    const layout = detectCgroups(['pids'], fs.sources('/'));
    expect(layout).toStrictEqual({ version: 2, dir: fs.root });
    const cgroups = new CgroupTree({ layout, controllers: ['pids'], fs, idleMs: 20 });
    await cgroups.start();
    expect(fs.members(fs.root)).toStrictEqual([process.pid]);
    await cgroups.stop(0);
    expect((await fs.read(join(fs.root, 'cgroup.subtree_control'))).split(' ')).toContain('pids');
    expect(existsSync(cgroups.plan.subtrees[0] as string)).toBe(false);
  });

  it('removes the empty groups of a rexecd that was killed, and only those', async () => {
    const dead = spawn('/bin/true');
    await new Promise((resolve) => dead.once('exit', resolve));
    const stale = join(service, `rexecd-${dead.pid}`);
    await fs.mkdir(stale);
    await fs.mkdir(join(stale, 'user-eve'));
    const alive = sleeper();
    const busy = join(service, `rexecd-${alive.pid}`);
    await fs.mkdir(busy);
    const unrelated = join(service, 'other');
    await mkdir(unrelated);
    const cgroups = tree();
    await cgroups.start();
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(busy)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
    await cgroups.stop(0);
  });
});
