// rexecd's cgroup subtree on the machine's real cgroup v1 hierarchies (root only):
// detection from /proc/self, the files the kernel holds after a join, a process moved
// by the preamble, and removal (EBUSY while a process remains, nothing after stop).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { detectCgroups, ownProcSources } from '../../../../src/server/cgroups/detect.js';
import { CgroupTree } from '../../../../src/server/cgroups/tree.js';
import { spawnProcess } from '../../../../src/server/spawn.js';
import type { SpawnedProcess } from '../../../../src/server/spawn.js';
import { waitUntil } from '../../../helpers/raw-client.js';

const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
const V1 = CONTROLLERS.every((name) => existsSync(`/sys/fs/cgroup/${name}/cgroup.procs`));
const ROOT = process.getuid?.() === 0;
const read = (path: string): string => readFileSync(path, 'utf8').trim();

describe.runIf(ROOT && V1)("cgroup v1 (the kernel's)", () => {
  const trees: CgroupTree[] = [];
  afterEach(async () => {
    for (const tree of trees.splice(0)) await tree.stop(0);
  });

  function start(): CgroupTree {
    const layout = detectCgroups([...CONTROLLERS], ownProcSources());
    const tree = new CgroupTree({ layout, controllers: [...CONTROLLERS], idleMs: 20 });
    trees.push(tree);
    return tree;
  }

  it("finds a hierarchy per controller under this process's own groups", () => {
    const layout = detectCgroups([...CONTROLLERS], ownProcSources());
    expect(layout.version).toBe(1);
    if (layout.version !== 1) return;
    const own = read('/proc/self/cgroup');
    for (const controller of CONTROLLERS) {
      const path = new RegExp(`^\\d+:(?:[^:]*,)?${controller}(?:,[^:]*)?:(.*)$`, 'm').exec(own)?.[1] as string;
      expect(layout.dirs.get(controller)).toBe(`/sys/fs/cgroup/${controller}${path === '/' ? '' : path}`);
    }
  });

  it("a command joins every hierarchy's group before it runs, under the policy's limits", async () => {
    const tree = start();
    await tree.start();
    const lease = await tree.join('alice', { memoryBytes: 64 * 1024 * 1024, maxProcesses: 16, cpuWeight: 300 }, 1);
    const [memory, pids, cpu] = tree.plan.subtrees.map((subtree) => `${subtree}/user-alice`) as [
      string,
      string,
      string,
    ];
    expect(read(`${memory}/memory.limit_in_bytes`)).toBe(String(64 * 1024 * 1024));
    expect(read(`${pids}/pids.max`)).toBe('16');
    expect(read(`${cpu}/cpu.shares`)).toBe('3072');
    const spawned = spawnProcess({
      id: 1,
      file: '/bin/cat',
      args: ['/proc/self/cgroup'],
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
      stdin: false,
      merge: false,
      confinement: { cgroupProcs: lease.procs, oomScoreAdj: 500 },
    }) as SpawnedProcess;
    let out = '';
    spawned.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await spawned.exited;
    await waitUntil(() => out.includes('pids:'), 'the output');
    for (const controller of CONTROLLERS) {
      expect(out).toMatch(
        new RegExp(`:(?:[^:]*,)?${controller}(?:,[^:]*)?:.*/rexecd-${process.pid}(?:\\.\\d+)?/user-alice$`, 'm'),
      );
    }
    lease.release();
    await waitUntil(() => !existsSync(memory) && !existsSync(pids) && !existsSync(cpu), "alice's groups to go", 10_000);
  });

  it('keeps a group while a process is inside (EBUSY), and stop kills it and removes everything', async () => {
    const tree = start();
    await tree.start();
    const lease = await tree.join('bob', { maxProcesses: 8 }, 1);
    const sleeper = spawnProcess({
      id: 2,
      file: '/bin/sleep',
      args: ['30'],
      cwd: '/',
      env: { PATH: '/usr/bin:/bin' },
      stdin: false,
      merge: false,
      confinement: { cgroupProcs: lease.procs, oomScoreAdj: 500 },
    }) as SpawnedProcess;
    const pids = `${tree.plan.subtrees[1]}/user-bob`;
    await waitUntil(() => read(`${pids}/cgroup.procs`) === String(sleeper.pid), "the sleeper in bob's group");
    lease.release();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(existsSync(pids)).toBe(true);
    await tree.stop(50);
    expect((await sleeper.exited).signal).toBe('SIGKILL');
    for (const subtree of tree.plan.subtrees) expect(existsSync(subtree)).toBe(false);
  });

  it('removes the subtree of a rexecd that was killed, once it is empty', async () => {
    const dead = spawn('/bin/true');
    await new Promise((resolve) => dead.once('exit', resolve));
    const layout = detectCgroups(['pids'], ownProcSources());
    const dir = layout.version === 1 ? (layout.dirs.get('pids') as string) : '';
    const stale = `${dir}/rexecd-${dead.pid}`;
    mkdirSync(`${stale}/user-x`, { recursive: true });
    const tree = start();
    await tree.start();
    expect(existsSync(stale)).toBe(false);
  });
});
