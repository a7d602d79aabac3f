// One principal's cgroup (a directory per v1 hierarchy, or one in v2): created with its
// limits when the first command joins, removed once nothing has used it for a moment.
// Every change to the directories runs in order on one chain, so a removal and a
// creation never interleave; a join waits only when the group is not there yet.
import { access, readFile } from 'node:fs/promises';
import { RexecError } from '../../errors.js';
import type { ServerLogger } from '../logger.js';
import type { CgroupFs } from './cgroup-fs.js';

/** A process's right to join a group, held until it has exited. */
export interface CgroupLease {
  /** The cgroup.procs files the process writes its pid to before it runs. */
  readonly procs: readonly string[];
  /** The process has exited (idempotent). */
  release(): void;
}

/** A value to write into the group once it exists. */
export interface GroupWrite {
  readonly path: string;
  readonly value: string;
  readonly optional: boolean;
}

// Removal attempts while processes are still leaving (EBUSY), with growing pauses.
const MAX_REMOVE_ATTEMPTS = 12;
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 5_000;
// How often a shutdown looks whether the group's processes have gone.
const POLL_MS = 25;

/** What a group needs from its tree. */
export interface UserGroupSettings {
  readonly dirs: readonly string[];
  readonly writes: readonly GroupWrite[];
  readonly fs: CgroupFs;
  /** How long an unused group stays (a user's next command reuses it). */
  readonly idleMs: number;
  readonly logger: ServerLogger;
  /** Called once the directories are gone and nothing holds the group. */
  readonly gone: () => void;
}

/** One group and its lifetime. */
export class UserGroup {
  readonly procs: readonly string[];
  readonly #settings: UserGroupSettings;
  #refs = 0;
  #present = false;
  #pending = 0;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #attempts = 0;
  #closed = false;

  constructor(settings: UserGroupSettings) {
    this.#settings = settings;
    this.procs = settings.dirs.map((dir) => `${dir}/cgroup.procs`);
  }

  /** A lease on the group: at once when it exists, else once it is created with its limits. */
  join(id: number): CgroupLease | Promise<CgroupLease> {
    if (this.#closed) throw new RexecError('SHUTTING_DOWN', 'the server is shutting down', { id });
    this.#refs += 1;
    clearTimeout(this.#timer);
    this.#attempts = 0;
    const lease = this.#lease();
    if (this.#present && this.#pending === 0) return lease;
    return this.#run(() => this.#create()).then(
      () => lease,
      (error: unknown) => {
        lease.release();
        const reason = error instanceof Error ? error.message : String(error);
        throw new RexecError('SPAWN_FAILED', `cannot set up the cgroup ${this.#settings.dirs[0]}: ${reason}`, { id });
      },
    );
  }

  /**
   * Shutdown: waits up to `graceMs` for the group's processes to leave, kills those
   * still inside, and removes the directories (retrying while they exit). Resolves
   * true once they are gone.
   */
  async close(graceMs: number, deadlineMs: number): Promise<boolean> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#chain;
    const until = Date.now() + graceMs;
    while ((await this.#members()).length > 0 && Date.now() < until) await pause(POLL_MS);
    const end = Date.now() + deadlineMs;
    for (;;) {
      // Killed again on every round: what forked while the last round was killing.
      for (const pid of await this.#members()) kill(pid);
      if ((await this.#removeDirs()).length === 0) return true;
      if (Date.now() >= end) return false;
      await pause(POLL_MS);
    }
  }

  #lease(): CgroupLease {
    let held = true;
    return {
      procs: this.procs,
      release: () => {
        if (!held) return;
        held = false;
        this.#refs -= 1;
        if (this.#refs === 0 && !this.#closed) this.#scheduleRemoval(this.#settings.idleMs);
      },
    };
  }

  #run(operation: () => Promise<void>): Promise<void> {
    this.#pending += 1;
    const result = this.#chain.then(operation).finally(() => {
      this.#pending -= 1;
    });
    this.#chain = result.catch(() => undefined);
    return result;
  }

  async #create(): Promise<void> {
    if (this.#present) return;
    for (const dir of this.#settings.dirs) await this.#settings.fs.mkdir(dir);
    for (const { path, value, optional } of this.#settings.writes) {
      if (optional && !(await exists(path))) continue;
      await this.#settings.fs.write(path, value);
    }
    this.#present = true;
  }

  #scheduleRemoval(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#refs === 0 && !this.#closed) this.#run(() => this.#remove()).catch(() => undefined);
    }, delayMs);
    this.#timer.unref();
  }

  async #remove(): Promise<void> {
    if (this.#refs > 0 || this.#closed) return;
    this.#present = false;
    const busy = await this.#removeDirs();
    if (busy.length === 0) {
      // A join that came during the removal has queued a creation: the group lives on.
      if (this.#refs === 0) this.#settings.gone();
      return;
    }
    this.#attempts += 1;
    if (this.#attempts < MAX_REMOVE_ATTEMPTS) {
      this.#scheduleRemoval(Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#attempts));
    } else {
      // Processes that outlived their command (without the sandbox) keep it until they
      // end; the next command's end, or the shutdown, tries again.
      this.#settings.logger.warn({ cgroup: busy }, 'cgroup still in use; it is removed later');
    }
  }

  // Removes what is left of the directories; returns those still busy.
  async #removeDirs(): Promise<string[]> {
    const busy: string[] = [];
    for (const dir of this.#settings.dirs) {
      try {
        await this.#settings.fs.rmdir(dir);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        if (code !== 'EBUSY') {
          this.#settings.logger.warn({ cgroup: dir, err: (error as Error).message }, 'cannot remove a cgroup');
        }
        busy.push(dir);
      }
    }
    return busy;
  }

  // Pids in any of the group's directories.
  async #members(): Promise<number[]> {
    const pids = new Set<number>();
    for (const procs of this.procs) {
      const text = await readFile(procs, 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (/^\d+$/.test(line)) pids.add(Number(line));
    }
    return [...pids];
  }
}

// SIGKILL to a member; never to rexecd itself or init, whatever a group file says.
function kill(pid: number): void {
  if (pid <= 1 || pid === process.pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
