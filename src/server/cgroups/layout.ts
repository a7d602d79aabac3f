// Where rexecd's own cgroups are, from /proc/self/mountinfo and /proc/self/cgroup, and
// which cgroup version can give the controllers a policy needs. Pure: text in, paths out.
import type { Controller } from './limits.js';

/** One line of /proc/self/mountinfo, the fields rexecd reads. */
export interface Mount {
  /** The directory of the file system mounted here (for cgroupfs: the group at the mount point). */
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: readonly string[];
}

/** What /proc/self/cgroup says: the v2 path, and the v1 path of each controller. */
export interface Membership {
  readonly v2Path: string | undefined;
  readonly v1Paths: ReadonlyMap<string, string>;
}

/** Where rexecd's groups go: its own cgroup directory in one version. */
export type CgroupLayout =
  | { readonly version: 2; readonly dir: string }
  | { readonly version: 1; readonly dirs: ReadonlyMap<Controller, string> };

/** The mounts listed in a mountinfo text (lines that do not parse are skipped). */
export function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    // id parent major:minor root mount-point options [optional fields...] - type source super-options
    const dash = fields.indexOf('-', 6);
    if (dash === -1 || fields.length < dash + 4) continue;
    mounts.push({
      root: unescapeMountPath(fields[3] as string),
      mountPoint: unescapeMountPath(fields[4] as string),
      fsType: fields[dash + 1] as string,
      superOptions: (fields[dash + 3] as string).split(','),
    });
  }
  return mounts;
}

// mountinfo writes space, tab, newline and backslash as octal escapes (\040 ...).
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The groups a /proc/self/cgroup text names: `0::/path` (v2) and `N:ctl,ctl:/path` (v1). */
export function parseProcCgroup(text: string): Membership {
  let v2Path: string | undefined;
  const v1Paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    // Fewer than two ':' (with none at all, the second search finds none either).
    if (second === -1) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (!path.startsWith('/')) continue;
    if (line.slice(0, first) === '0' && controllers === '') v2Path = path;
    else for (const controller of controllers.split(',')) if (controller !== '') v1Paths.set(controller, path);
  }
  return { v2Path, v1Paths };
}

/**
 * The directory of group `path` under `mount`, or undefined when the mount does not
 * show it (a mount of a subtree that the group is outside of).
 */
export function dirUnder(mount: Mount, path: string): string | undefined {
  const base = mount.mountPoint === '/' ? '' : mount.mountPoint;
  if (mount.root === '/') return path === '/' ? mount.mountPoint : base + path;
  if (path === mount.root) return mount.mountPoint;
  if (path.startsWith(`${mount.root}/`)) return base + path.slice(mount.root.length);
  return undefined;
}

/** rexecd's own cgroup v2 directory, if a unified hierarchy is mounted where it can be seen. */
export function v2Dir(mounts: readonly Mount[], membership: Membership): string | undefined {
  const path = membership.v2Path;
  if (path === undefined) return undefined;
  for (const mount of mounts) {
    if (mount.fsType !== 'cgroup2') continue;
    const dir = dirUnder(mount, path);
    if (dir !== undefined) return dir;
  }
  return undefined;
}

/** rexecd's own cgroup v1 directory for each controller that has a mounted hierarchy. */
export function v1Dirs(mounts: readonly Mount[], membership: Membership): Map<Controller, string> {
  const dirs = new Map<Controller, string>();
  for (const controller of ['memory', 'pids', 'cpu'] as const) {
    const path = membership.v1Paths.get(controller);
    if (path === undefined) continue;
    for (const mount of mounts) {
      if (mount.fsType !== 'cgroup' || !mount.superOptions.includes(controller)) continue;
      const dir = dirUnder(mount, path);
      if (dir !== undefined) {
        dirs.set(controller, dir);
        break;
      }
    }
  }
  return dirs;
}

/** What the machine offers: v2 (its directory and available controllers) and v1 directories. */
export interface Offer {
  readonly v2: { readonly dir: string; readonly controllers: ReadonlySet<string> } | undefined;
  readonly v1: ReadonlyMap<Controller, string>;
}

/**
 * The version that has every controller in `needed`: v2 first (one tree, one set of
 * rules), else v1. A mix of both is refused: a controller lives in one hierarchy only,
 * and a user's limits must not depend on which half of the machine enforces them.
 */
export function chooseLayout(needed: readonly Controller[], offer: Offer): CgroupLayout | { readonly problem: string } {
  const { v2, v1 } = offer;
  if (v2 !== undefined && needed.every((controller) => v2.controllers.has(controller))) {
    return { version: 2, dir: v2.dir };
  }
  if (needed.every((controller) => v1.has(controller))) {
    return { version: 1, dirs: new Map(needed.map((controller) => [controller, v1.get(controller) as string])) };
  }
  const v2Has =
    v2 === undefined
      ? 'no cgroup v2 hierarchy'
      : `cgroup v2 at ${v2.dir} offers ${[...v2.controllers].join(' ') || 'no controllers'}`;
  const v1Missing = needed.filter((controller) => !v1.has(controller));
  return {
    problem:
      `the policy needs the cgroup controllers ${needed.join(', ')}: ${v2Has}, ` +
      `and cgroup v1 has no hierarchy for ${v1Missing.join(', ')}`,
  };
}
