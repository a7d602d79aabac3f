// The operations where cgroupfs differs from a plain directory: creating a group (the
// kernel fills in its files), removing one (allowed with its files in place, refused
// with EBUSY while a process is inside), and writing its files (a pid written to
// cgroup.procs moves that process; "+memory" in cgroup.subtree_control enables a
// controller below). Tests of cgroup v2 on machines that only have v1 give an
// emulation over a temporary directory. Reads are plain file reads.
import { mkdir, rmdir, writeFile } from 'node:fs/promises';

/** Creation and removal of cgroup directories. */
export interface CgroupFs {
  /** Creates a group; resolves false when it exists already. */
  mkdir(path: string): Promise<boolean>;
  /** Removes an empty group; rejects with EBUSY while processes or subgroups remain. */
  rmdir(path: string): Promise<void>;
  /** Writes one of a group's files (it exists: cgroupfs creates none). */
  write(path: string, value: string): Promise<void>;
}

/** The kernel's cgroupfs. */
export const kernelCgroupFs: CgroupFs = {
  async mkdir(path) {
    try {
      await mkdir(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  },
  rmdir: (path) => rmdir(path),
  write: (path, value) => writeFile(path, value),
};
