// A cgroup v2 hierarchy emulated over a temporary directory, for machines that only
// have v1 controllers: directories hold the files the kernel would make, and the
// CgroupFs operations keep the kernel's rules that rexecd depends on (a pid written to
// cgroup.procs leaves every other group; subtree_control takes only the controllers
// the group has, and none while the group holds processes, unless it is the root; a
// group is busy while it has subgroups or a living process).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { CgroupFs } from '../../src/server/cgroups/cgroup-fs.js';
import { pidAlive } from './raw-client.js';

/** Files each controller brings to a group, with the kernel's defaults. */
const CONTROLLER_FILES: Record<string, Record<string, string>> = {
  memory: { 'memory.max': 'max', 'memory.swap.max': 'max' },
  pids: { 'pids.max': 'max' },
  cpu: { 'cpu.weight': '100' },
};

function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

function words(path: string): string[] {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split(/\s+/)
        .filter((word) => word !== '')
    : [];
}

/** A fake unified hierarchy: `root` is its mount point. */
export class FakeCgroupFs implements CgroupFs {
  readonly root: string;
  /** Removals refused because the group was busy, per path: what a test waits for. */
  readonly busyRemovals = new Map<string, number>();

  private constructor(root: string) {
    this.root = root;
  }

  /** A hierarchy whose root offers `controllers` (and enables them for its children). */
  static async create(controllers: readonly string[] = ['cpu', 'memory', 'pids', 'io']): Promise<FakeCgroupFs> {
    const root = await realpath(await mkdtemp(join(tmpdir(), 'rexec-cgroup2-')));
    await writeFile(join(root, 'cgroup.controllers'), controllers.join(' '));
    await writeFile(join(root, 'cgroup.subtree_control'), controllers.join(' '));
    await writeFile(join(root, 'cgroup.procs'), '');
    return new FakeCgroupFs(root);
  }

  async mkdir(path: string): Promise<boolean> {
    if (existsSync(path)) return false;
    await mkdir(path);
    const offered = words(join(dirname(path), 'cgroup.subtree_control'));
    await writeFile(join(path, 'cgroup.controllers'), offered.join(' '));
    await writeFile(join(path, 'cgroup.subtree_control'), '');
    await writeFile(join(path, 'cgroup.procs'), '');
    await writeFile(join(path, 'cgroup.type'), 'domain');
    for (const controller of offered) {
      for (const [file, value] of Object.entries(CONTROLLER_FILES[controller] ?? {}))
        await writeFile(join(path, file), value);
    }
    return true;
  }

  async rmdir(path: string): Promise<void> {
    if (!existsSync(path)) throw errno('ENOENT', path);
    const subgroups = readdirSync(path).filter((name) => statSync(join(path, name)).isDirectory());
    const living = this.members(path).filter((pid) => pidAlive(pid));
    if (subgroups.length > 0 || living.length > 0) {
      this.busyRemovals.set(path, (this.busyRemovals.get(path) ?? 0) + 1);
      throw errno('EBUSY', path);
    }
    await rm(path, { recursive: true });
  }

  async write(path: string, value: string): Promise<void> {
    const group = dirname(path);
    if (!existsSync(path)) throw errno('ENOENT', path);
    if (basename(path) === 'cgroup.procs') {
      for (const dir of this.groups()) {
        const procs = join(dir, 'cgroup.procs');
        await writeFile(
          procs,
          words(procs)
            .filter((pid) => pid !== value.trim())
            .map((pid) => `${pid}\n`)
            .join(''),
        );
      }
      await writeFile(path, `${words(path).concat(value.trim()).join('\n')}\n`);
      return;
    }
    if (basename(path) === 'cgroup.subtree_control') {
      const offered = words(join(group, 'cgroup.controllers'));
      const enabled = new Set(words(path));
      for (const token of value.split(/\s+/).filter((word) => word !== '')) {
        const name = token.slice(1);
        if (!offered.includes(name)) throw errno('ENOENT', `${path} (${name} is not offered)`);
        if (token.startsWith('+')) {
          if (group !== this.root && this.members(group).length > 0)
            throw errno('EBUSY', `${path} (the group holds processes)`);
          enabled.add(name);
        } else {
          enabled.delete(name);
        }
      }
      await writeFile(path, [...enabled].join(' '));
      return;
    }
    await writeFile(path, value);
  }

  /** The pids listed in a group's cgroup.procs. */
  members(group: string): number[] {
    return words(join(group, 'cgroup.procs')).map(Number);
  }

  /** Every group directory of the hierarchy, the root first. */
  groups(dir = this.root): string[] {
    return [
      dir,
      ...readdirSync(dir)
        .filter((name) => statSync(join(dir, name)).isDirectory())
        .flatMap((name) => this.groups(join(dir, name))),
    ];
  }

  /** What /proc/self/mountinfo and /proc/self/cgroup would say for a process in `group` (relative path). */
  sources(group: string): { mountinfo: string; cgroup: string } {
    return {
      mountinfo: `30 23 0:26 / ${this.root.replace(/ /g, '\\040')} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n`,
      cgroup: `0::${group}\n`,
    };
  }

  async read(path: string): Promise<string> {
    return (await readFile(path, 'utf8')).trim();
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
