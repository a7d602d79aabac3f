// What a policy's cgroup limits become on disk: which controllers they need, which
// files get which values in each cgroup version, and the name of a user's group. Pure.
import { createHash } from 'node:crypto';

/** The cgroup controllers rexecd uses. */
export type Controller = 'memory' | 'pids' | 'cpu';

/** Limits on all of one user's processes together (lab policy `limits`). */
export interface CgroupLimits {
  /** Memory, tmpfs pages included, bytes. */
  readonly memoryBytes?: number;
  /** Processes and threads. */
  readonly maxProcesses?: number;
  /** CPU weight against other users, 1..10000 (cgroup v2 semantics; 100 is even). */
  readonly cpuWeight?: number;
}

/** One value to write into a user's group. */
export interface LimitFile {
  readonly controller: Controller;
  readonly file: string;
  readonly value: string;
  /** Written only when the kernel has the file (swap accounting may be off). */
  readonly optional: boolean;
}

/** The controllers `limits` needs, in a fixed order (memory, pids, cpu). */
export function controllersFor(limits: CgroupLimits): Controller[] {
  const needed: Controller[] = [];
  if (limits.memoryBytes !== undefined) needed.push('memory');
  if (limits.maxProcesses !== undefined) needed.push('pids');
  if (limits.cpuWeight !== undefined) needed.push('cpu');
  return needed;
}

/**
 * The files that hold `limits` in cgroup `version`, in the order to write them. Swap
 * is closed in both versions: a limit that could spill into swap would not bound what
 * a student takes from the machine (v1's memsw must be written after the limit, which
 * it may not undercut).
 */
export function limitFiles(version: 1 | 2, limits: CgroupLimits): LimitFile[] {
  const files: LimitFile[] = [];
  const { memoryBytes, maxProcesses, cpuWeight } = limits;
  if (memoryBytes !== undefined) {
    const bytes = String(memoryBytes);
    if (version === 2) {
      files.push({ controller: 'memory', file: 'memory.max', value: bytes, optional: false });
      files.push({ controller: 'memory', file: 'memory.swap.max', value: '0', optional: true });
    } else {
      files.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: bytes, optional: false });
      files.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: bytes, optional: true });
    }
  }
  if (maxProcesses !== undefined) {
    files.push({ controller: 'pids', file: 'pids.max', value: String(maxProcesses), optional: false });
  }
  if (cpuWeight !== undefined) {
    files.push(
      version === 2
        ? { controller: 'cpu', file: 'cpu.weight', value: String(cpuWeight), optional: false }
        : { controller: 'cpu', file: 'cpu.shares', value: String(cpuWeightToShares(cpuWeight)), optional: false },
    );
  }
  return files;
}

// cgroup v1 cpu.shares: 1024 is the default (as weight 100 is in v2), 2 the least the
// kernel takes, 262144 the most.
const DEFAULT_SHARES = 1024;
const DEFAULT_WEIGHT = 100;
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

/** cgroup v2 cpu.weight as v1 cpu.shares, in the same proportion to the default (systemd's mapping). */
export function cpuWeightToShares(weight: number): number {
  const shares = Math.round((weight * DEFAULT_SHARES) / DEFAULT_WEIGHT);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** The user names that become directory names as they are (the users file's own rule). */
const PLAIN_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** Principal of every client when they share one key: they share one group. */
export const SHARED_PRINCIPAL = '*';

/**
 * The directory name of a principal's group. User names are hostile input: a name
 * never becomes a path of its own (the prefix keeps "." and ".." and cgroupfs's own
 * file names such as "cgroup.procs" out of reach), and any other name is known by
 * its SHA-256 (users files only hold plain names: this is the safe answer for the rest).
 */
export function groupName(principal: string): string {
  if (principal === SHARED_PRINCIPAL) return 'shared';
  if (PLAIN_NAME.test(principal)) return `user-${principal}`;
  // Stryker disable next-line StringLiteral: 'utf8' is update()'s default for a string, written out because the name is hashed as UTF-8.
  return `sha256-${createHash('sha256').update(principal, 'utf8').digest('hex')}`;
}
