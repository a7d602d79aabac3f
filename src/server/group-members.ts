// Finding the processes of a group whose leader has exited (a command's background
// processes linger in its group until the connection closes), so that the ledger can
// still name the group (group-ledger.ts). Finding them means reading every /proc/PID:
// tens of milliseconds on a busy machine. So the groups asked for are gathered, looked
// for together at most once a second, and /proc is read a slice per event-loop turn:
// a student whose every command leaves a process behind cannot stall rexecd this way.
import { readdirSync } from 'node:fs';
import { processStat } from './proc-stat.js';

/** A process found in a group: its pid and start time. */
export interface GroupMember {
  readonly pgid: number;
  readonly pid: number;
  readonly started: number;
}

/** At most this many processes are kept per group: any one of them names it. */
export const MAX_MEMBERS = 8;
/** At most this many groups wait for the next look; more are not recorded. */
export const MAX_WAITING = 1024;
/** The least time between two looks through /proc, ms. */
export const SCAN_INTERVAL_MS = 1000;
/** /proc entries read per event-loop turn. */
export const SLICE = 256;

/**
 * The members among `pids` of the `wanted` groups (pgid → the tick its leader was seen
 * reaped). A member is in the group and its session (rexecd makes every command lead
 * both), is not the leader, and started no later than that tick: a process started
 * after the leader was reaped may belong to a group that reused the number.
 */
export function collectMembers(
  pids: readonly number[],
  wanted: ReadonlyMap<number, number>,
  found: Map<number, GroupMember[]>,
  procDir = '/proc',
): void {
  for (const pid of pids) {
    const info = processStat(pid, procDir);
    if (info === undefined || info.pgrp === pid || info.session !== info.pgrp) continue;
    const reaped = wanted.get(info.pgrp);
    if (reaped === undefined || info.started > reaped) continue;
    const members = found.get(info.pgrp) ?? [];
    if (members.length >= MAX_MEMBERS) continue;
    members.push({ pgid: info.pgrp, pid, started: info.started });
    found.set(info.pgrp, members);
  }
}

/** The numeric entries of /proc, in order: every process now. */
export function processIds(procDir = '/proc'): number[] {
  return readdirSync(procDir)
    .filter((name) => /^[1-9]\d*$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
}

/** Where and how a MemberScan looks. */
export interface MemberScanOptions {
  /** The least time between two looks, ms (default SCAN_INTERVAL_MS). */
  readonly intervalMs?: number;
  /** Entries read per event-loop turn (default SLICE). */
  readonly slice?: number;
  readonly procDir?: string;
}

/** Gathers groups to look for, and reports their members, at most once per interval. */
export class MemberScan {
  readonly #report: (members: GroupMember[]) => void;
  readonly #intervalMs: number;
  readonly #slice: number;
  readonly #procDir: string;
  readonly #waiting = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #scanning = false;
  // When the next look may start (performance.now() time).
  #nextScan = 0;
  #stopped = false;
  #looks = 0;

  constructor(report: (members: GroupMember[]) => void, options: MemberScanOptions = {}) {
    this.#report = report;
    this.#intervalMs = options.intervalMs ?? SCAN_INTERVAL_MS;
    this.#slice = options.slice ?? SLICE;
    this.#procDir = options.procDir ?? '/proc';
  }

  /** Looks through /proc begun so far: what a flood of exits costs. */
  get looks(): number {
    return this.#looks;
  }

  /** Looks for the members of `pgid`, whose leader was seen reaped at tick `reaped`. */
  add(pgid: number, reaped: number): void {
    if (this.#stopped || this.#waiting.size >= MAX_WAITING) return;
    this.#waiting.set(pgid, reaped);
    this.#schedule();
  }

  /** No more looks, and no report of one under way. */
  stop(): void {
    this.#stopped = true;
    // Stryker disable next-line CallExpression: a timer left would find #stopped and do nothing; clearing it only spares a wake-up.
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#scanning || this.#waiting.size === 0) return;
    const wait = Math.max(0, this.#nextScan - performance.now());
    this.#timer = setTimeout(() => this.#scan(), wait);
    this.#timer.unref();
  }

  #scan(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#scanning = true;
    this.#looks += 1;
    this.#nextScan = performance.now() + this.#intervalMs;
    const wanted = new Map(this.#waiting);
    this.#waiting.clear();
    const pids = processIds(this.#procDir);
    const found = new Map<number, GroupMember[]>();
    const step = (from: number): void => {
      if (this.#stopped) return;
      collectMembers(pids.slice(from, from + this.#slice), wanted, found, this.#procDir);
      if (from + this.#slice < pids.length) {
        setImmediate(() => step(from + this.#slice));
        return;
      }
      this.#scanning = false;
      const members = [...found.values()].flat();
      if (members.length > 0) this.#report(members);
      this.#schedule();
    };
    step(0);
  }
}
