// rexecd's own subtree of cgroups: a directory under its own cgroup in each hierarchy
// (v1: memory, pids, cpu each have one; v2: one), holding one group per principal.
// Set up when the server starts listening, removed when it stops; a group left by a
// rexecd that was killed is removed at the next start once it is empty.
import { readdir, readFile } from 'node:fs/promises';
import { RexecError } from '../../errors.js';
import { silentLogger } from '../logger.js';
import type { ServerLogger } from '../logger.js';
import { kernelCgroupFs } from './cgroup-fs.js';
import type { CgroupFs } from './cgroup-fs.js';
import type { CgroupLayout } from './layout.js';
import { groupName, limitFiles } from './limits.js';
import type { CgroupLimits, Controller } from './limits.js';
import { UserGroup } from './user-group.js';
import type { CgroupLease, GroupWrite } from './user-group.js';

/** How long a principal's group stays after its last command, for the next one. */
export const DEFAULT_IDLE_MS = 1_000;
// How long a stop keeps trying to remove groups whose processes are being killed.
const STOP_DEADLINE_MS = 5_000;

/** One hierarchy rexecd uses: its own cgroup there and the controllers it brings. */
export interface Hierarchy {
  readonly dir: string;
  readonly controllers: readonly Controller[];
}

/** The directories of a tree: pure, from the layout. */
export interface TreePlan {
  readonly version: 1 | 2;
  readonly hierarchies: readonly Hierarchy[];
  /** rexecd's subtree in each hierarchy (same order). */
  readonly subtrees: readonly string[];
  /** v2: the leaf rexecd moves itself into, so its own group may have subgroups. */
  readonly daemonLeaf: string | undefined;
}

/** Where a tree's directories go; `name` tells trees of one process apart. */
export function planTree(layout: CgroupLayout, controllers: readonly Controller[], name: string): TreePlan {
  if (layout.version === 2) {
    return {
      version: 2,
      hierarchies: [{ dir: layout.dir, controllers }],
      subtrees: [`${layout.dir}/${name}`],
      daemonLeaf: `${layout.dir}/${name}-daemon`,
    };
  }
  // v1 controllers mounted together (memory,pids) share one directory.
  const byDir = new Map<string, Controller[]>();
  for (const controller of controllers) {
    const dir = layout.dirs.get(controller);
    if (dir === undefined) continue;
    byDir.set(dir, [...(byDir.get(dir) ?? []), controller]);
  }
  const hierarchies = [...byDir].map(([dir, owned]) => ({ dir, controllers: owned }));
  return { version: 1, hierarchies, subtrees: hierarchies.map((h) => `${h.dir}/${name}`), daemonLeaf: undefined };
}

/** A principal's group directories, one per subtree. */
export function groupDirs(plan: TreePlan, principal: string): string[] {
  const name = groupName(principal);
  return plan.subtrees.map((subtree) => `${subtree}/${name}`);
}

/** The files (full paths) and values that set `limits` on a principal's group. */
export function groupWrites(plan: TreePlan, dirs: readonly string[], limits: CgroupLimits): GroupWrite[] {
  return limitFiles(plan.version, limits).flatMap((limit) => {
    const index = plan.hierarchies.findIndex((h) => h.controllers.includes(limit.controller));
    const dir = dirs[index];
    return dir === undefined ? [] : [{ path: `${dir}/${limit.file}`, value: limit.value, optional: limit.optional }];
  });
}

/** Names of the subtrees of rexecd processes, `rexecd-PID` and what follows it. */
const SUBTREE_NAME = /^rexecd-(\d+)(?:[-.].*)?$/;
// How long emptying a stale group may take, and how often it looks again.
const STALE_DEADLINE_MS = 5_000;
const STALE_POLL_MS = 25;

let treesInProcess = 0;

/** Settings of a tree. */
export interface CgroupTreeSettings {
  readonly layout: CgroupLayout;
  /** Every controller some policy needs. */
  readonly controllers: readonly Controller[];
  readonly fs?: CgroupFs;
  readonly idleMs?: number;
  readonly logger?: ServerLogger;
}

/** rexecd's subtree and the groups in it. */
export class CgroupTree {
  readonly plan: TreePlan;
  readonly #fs: CgroupFs;
  readonly #idleMs: number;
  readonly #logger: ServerLogger;
  readonly #groups = new Map<string, UserGroup>();
  #state: 'new' | 'running' | 'stopped' = 'new';
  #moved = false;
  readonly #enabled: Controller[] = [];

  constructor(settings: CgroupTreeSettings) {
    treesInProcess += 1;
    const name = treesInProcess === 1 ? `rexecd-${process.pid}` : `rexecd-${process.pid}.${treesInProcess}`;
    this.plan = planTree(settings.layout, settings.controllers, name);
    this.#fs = settings.fs ?? kernelCgroupFs;
    this.#idleMs = settings.idleMs ?? DEFAULT_IDLE_MS;
    this.#logger = settings.logger ?? silentLogger;
  }

  /** Creates the subtree (v2: moves rexecd into its leaf first). Throws CONFIG when it cannot. */
  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    try {
      for (const { dir } of this.plan.hierarchies) await this.#removeStale(dir);
      if (this.plan.version === 2) await this.#prepareV2();
      for (const [index, subtree] of this.plan.subtrees.entries()) {
        await this.#fs.mkdir(subtree);
        const controllers = this.plan.hierarchies[index]?.controllers ?? [];
        if (this.plan.version === 2)
          await this.#fs.write(`${subtree}/cgroup.subtree_control`, toggle('+', controllers));
      }
    } catch (error) {
      await this.stop(0);
      throw new RexecError('CONFIG', `cannot set up rexecd's cgroups: ${(error as Error).message}`);
    }
  }

  /** A lease on `principal`'s group, created with `limits` if it is not there. */
  join(principal: string, limits: CgroupLimits, id: number): CgroupLease | Promise<CgroupLease> {
    if (this.#state !== 'running') throw new RexecError('SHUTTING_DOWN', 'the server is shutting down', { id });
    let group = this.#groups.get(principal);
    if (group === undefined) {
      const dirs = groupDirs(this.plan, principal);
      const created: UserGroup = new UserGroup({
        dirs,
        writes: groupWrites(this.plan, dirs, limits),
        fs: this.#fs,
        idleMs: this.#idleMs,
        logger: this.#logger,
        gone: () => {
          if (this.#groups.get(principal) === created) this.#groups.delete(principal);
        },
      });
      group = created;
      this.#groups.set(principal, group);
    }
    return group.join(id);
  }

  /**
   * Removes every group (their processes get `graceMs` to end, then SIGKILL) and the
   * subtree, and undoes the v2 set-up. Never throws: what cannot be removed is logged.
   */
  async stop(graceMs: number): Promise<void> {
    this.#state = 'stopped';
    const groups = [...this.#groups.values()];
    this.#groups.clear();
    const closed = await Promise.all(groups.map((group) => group.close(graceMs, STOP_DEADLINE_MS)));
    if (closed.includes(false)) this.#logger.warn({}, 'some cgroups could not be emptied');
    for (const subtree of this.plan.subtrees) await this.#remove(subtree);
    const dir = this.plan.hierarchies[0]?.dir;
    if (this.plan.version !== 2 || dir === undefined) return;
    const enabled = this.#enabled.splice(0);
    if (enabled.length > 0) {
      await this.#fs
        .write(`${dir}/cgroup.subtree_control`, toggle('-', enabled))
        .catch((error: Error) => this.#warn(dir, error));
    }
    if (this.#moved && this.plan.daemonLeaf !== undefined) {
      this.#moved = false;
      await this.#fs.write(`${dir}/cgroup.procs`, String(process.pid)).catch((error: Error) => this.#warn(dir, error));
      await this.#remove(this.plan.daemonLeaf);
    }
  }

  // v2's "no internal processes" rule: a group that holds processes cannot give its
  // subgroups controllers. rexecd leaves its own group for a leaf of it (unless it is
  // the root group, which is exempt), then enables the controllers below it.
  async #prepareV2(): Promise<void> {
    const dir = this.plan.hierarchies[0]?.dir as string;
    const leaf = this.plan.daemonLeaf as string;
    const isRoot = !(await readFile(`${dir}/cgroup.type`, 'utf8').then(
      () => true,
      () => false,
    ));
    if (!isRoot) {
      await this.#fs.mkdir(leaf);
      await this.#fs.write(`${leaf}/cgroup.procs`, String(process.pid));
      this.#moved = true;
    }
    const enabled = (await readFile(`${dir}/cgroup.subtree_control`, 'utf8')).split(/\s+/);
    const missing = (this.plan.hierarchies[0]?.controllers ?? []).filter((controller) => !enabled.includes(controller));
    if (missing.length === 0) return;
    await this.#fs.write(`${dir}/cgroup.subtree_control`, toggle('+', missing));
    this.#enabled.push(...missing);
  }

  // Subtrees of rexecd processes that no longer run (killed, crashed): what still runs in
  // their groups was a user's command that nothing would ever end, and belongs to no
  // one else (cgroup membership is exact, unlike a pid), so it is killed; then the
  // groups and the subtree are removed.
  async #removeStale(dir: string): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const match = SUBTREE_NAME.exec(name);
      if (match === null || Number(match[1]) === process.pid || processAlive(Number(match[1]))) continue;
      const stale = `${dir}/${name}`;
      const groups = await readdir(stale, { withFileTypes: true }).catch(() => []);
      for (const entry of groups) {
        if (!entry.isDirectory()) continue;
        const killed = await emptyGroup(this.#fs, `${stale}/${entry.name}`);
        if (killed > 0)
          this.#logger.warn({ cgroup: `${stale}/${entry.name}`, killed }, 'killed what a previous rexecd left running');
      }
      await this.#fs.rmdir(stale).catch(() => undefined);
    }
  }

  async #remove(dir: string): Promise<void> {
    await this.#fs.rmdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') this.#warn(dir, error);
    });
  }

  #warn(dir: string, error: Error): void {
    this.#logger.warn({ cgroup: dir, err: error.message }, 'cannot undo a cgroup set-up step');
  }
}

/** A cgroup.subtree_control line that enables (+) or disables (-) controllers, in one write. */
export function toggle(sign: '+' | '-', controllers: readonly Controller[]): string {
  return controllers.map((controller) => `${sign}${controller}`).join(' ');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Kills every process in a group until it is empty and removed (or a deadline passes);
// returns how many were killed.
async function emptyGroup(fs: CgroupFs, group: string): Promise<number> {
  const end = Date.now() + STALE_DEADLINE_MS;
  let killed = 0;
  for (;;) {
    const members = (await readFile(`${group}/cgroup.procs`, 'utf8').catch(() => ''))
      .split('\n')
      .filter((line) => /^\d+$/.test(line))
      .map(Number);
    for (const pid of members) {
      try {
        process.kill(pid, 'SIGKILL');
        killed += 1;
      } catch {
        // Gone meanwhile.
      }
    }
    const removed = await fs.rmdir(group).then(
      () => true,
      () => false,
    );
    if (removed || Date.now() >= end) return killed;
    await new Promise((resolve) => setTimeout(resolve, STALE_POLL_MS));
  }
}
