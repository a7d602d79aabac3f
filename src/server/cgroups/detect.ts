// Finds the cgroup hierarchy that can hold a policy's limits on this machine, from what
// rexecd itself sees (/proc/self), and says clearly why when none can.
import { existsSync, readFileSync } from 'node:fs';
import { RexecError } from '../../errors.js';
import { chooseLayout, parseMountInfo, parseProcCgroup, v1Dirs, v2Dir } from './layout.js';
import type { CgroupLayout } from './layout.js';
import type { Controller } from './limits.js';

/** The two texts the detection reads (tests give their own). */
export interface ProcSources {
  readonly mountinfo: string;
  readonly cgroup: string;
}

/** rexecd's own /proc/self/mountinfo and /proc/self/cgroup. */
export function ownProcSources(): ProcSources {
  return {
    mountinfo: readOr('/proc/self/mountinfo', ''),
    cgroup: readOr('/proc/self/cgroup', ''),
  };
}

/**
 * The layout that gives every controller in `needed`; throws CONFIG naming what is
 * missing. For v2 it also checks the "no internal processes" rule can be met: rexecd
 * moves itself into a leaf of its own cgroup, which must hold no other process.
 */
export function detectCgroups(needed: readonly Controller[], sources: ProcSources, pid = process.pid): CgroupLayout {
  const mounts = parseMountInfo(sources.mountinfo);
  const membership = parseProcCgroup(sources.cgroup);
  const dir = v2Dir(mounts, membership);
  const v2 =
    dir === undefined
      ? undefined
      : {
          dir,
          controllers: new Set(
            readOr(`${dir}/cgroup.controllers`, '')
              .split(/\s+/)
              .filter((name) => name !== ''),
          ),
        };
  const choice = chooseLayout(needed, { v2, v1: v1Dirs(mounts, membership) });
  if ('problem' in choice) {
    const problem = `cgroup limits are set but cannot be applied here: ${choice.problem}`;
    throw new RexecError('CONFIG', `${problem} (README: lab mode, cgroups)`);
  }
  if (choice.version === 2) {
    const others = otherProcesses(choice.dir, pid);
    if (others.length > 0) {
      throw new RexecError(
        'CONFIG',
        `cgroup limits need a cgroup v2 group of rexecd's own, but ${choice.dir} also holds processes ` +
          `${others.slice(0, 5).join(', ')}: run rexecd as its own systemd service with Delegate=yes (README: lab mode, cgroups)`,
      );
    }
  }
  return choice;
}

// Processes other than rexecd in its v2 group. The root group is exempt from the rule
// (it has no cgroup.type), so nothing there is in the way.
function otherProcesses(dir: string, pid: number): string[] {
  if (!existsSync(`${dir}/cgroup.type`)) return [];
  return readOr(`${dir}/cgroup.procs`, '')
    .split('\n')
    .filter((line) => line !== '' && line !== String(pid));
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}
