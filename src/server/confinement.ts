// What each command gets before its own code runs: its principal's cgroup (when its
// policy sets cgroup limits) and a raised OOM score (when rexecd is root), applied by
// the launch's root preamble. Commands that need neither start as they always did.
import { RexecError } from '../errors.js';
import { detectCgroups, ownProcSources } from './cgroups/detect.js';
import { controllersFor } from './cgroups/limits.js';
import type { Controller } from './cgroups/limits.js';
import { CgroupTree } from './cgroups/tree.js';
import type { Confinement } from './launch.js';
import type { ServerLogger } from './logger.js';
import { commandOomScoreAdj, ownOomScoreAdj } from './oom-score.js';
import type { UserPolicy } from './policy/user-policy.js';

/** A confinement held while its process runs; `release` once it has exited. */
export interface ConfinementLease {
  readonly confinement: Confinement;
  release(): void;
}

/** What `confine` returns: a lease (maybe once a group is created), or nothing to apply. */
export type ConfinementResult = ConfinementLease | Promise<ConfinementLease> | undefined;

/** Every controller that some policy needs, in the fixed order. */
export function controllersNeeded(policies: readonly UserPolicy[]): Controller[] {
  const needed = new Set(policies.flatMap((policy) => controllersFor(policy.cgroupLimits)));
  return (['memory', 'pids', 'cpu'] as const).filter((controller) => needed.has(controller));
}

/** The confinements of one server. */
export class Confiner {
  readonly tree: CgroupTree | undefined;
  readonly #root: boolean;
  readonly #own: number;

  constructor(settings: {
    readonly tree: CgroupTree | undefined;
    readonly root: boolean;
    readonly ownOomScoreAdj: number;
  }) {
    this.tree = settings.tree;
    this.#root = settings.root;
    this.#own = settings.ownOomScoreAdj;
  }

  /**
   * The confiner for these policies on this machine, as rexecd runs now. Throws CONFIG
   * when a policy sets cgroup limits that no cgroup hierarchy here can enforce (the
   * preflight has refused a rexecd that is not root).
   */
  static forPolicies(policies: readonly UserPolicy[], logger: ServerLogger): Confiner {
    const needed = controllersNeeded(policies);
    const tree =
      needed.length === 0
        ? undefined
        : new CgroupTree({ layout: detectCgroups(needed, ownProcSources()), controllers: needed, logger });
    return new Confiner({ tree, root: process.getuid?.() === 0, ownOomScoreAdj: ownOomScoreAdj() });
  }

  /** Creates rexecd's cgroup subtree, if it uses one. */
  async start(): Promise<void> {
    await this.tree?.start();
  }

  /** Removes the subtree; processes still in it get `graceMs`, then SIGKILL. */
  async stop(graceMs: number): Promise<void> {
    await this.tree?.stop(graceMs);
  }

  /** The confinement of a command or helper that `principal` starts under `policy`. */
  confine(principal: string, policy: UserPolicy, id: number): ConfinementResult {
    const limited = controllersFor(policy.cgroupLimits).length > 0;
    const oomScoreAdj = commandOomScoreAdj({ root: this.#root, own: this.#own, preamble: limited });
    if (oomScoreAdj === undefined) return undefined;
    if (!limited) return { confinement: { cgroupProcs: [], oomScoreAdj }, release: () => undefined };
    if (this.tree === undefined)
      throw new RexecError('SPAWN_FAILED', 'cgroup limits are set but rexecd has no cgroups', { id });
    const joined = this.tree.join(principal, policy.cgroupLimits, id);
    const lease = (held: Awaited<typeof joined>): ConfinementLease => ({
      confinement: { cgroupProcs: held.procs, oomScoreAdj },
      release: () => held.release(),
    });
    return joined instanceof Promise ? joined.then(lease) : lease(joined);
  }
}
