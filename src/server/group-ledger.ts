// Process groups outlive a rexecd that is killed (SIGKILL, a crash of the machine's
// OOM killer, a power cut of the service manager): nothing is left to end them. The
// ledger is a file of the groups rexecd started, each with its leader's start time;
// a rexecd that starts again with the same file ends the groups that are still there.
// A group is signalled only when a process the ledger names is alive, started exactly
// when the ledger says, and still in the group, so that a process that merely got a
// recorded pid number again is never touched. That process is the leader; once a
// leader exits while others of its group run on (background processes linger until
// the connection closes), up to 8 of them are recorded too (group-members.ts: only
// those of its session started before the leader was reaped, so never those of a
// group that reused the number): while any of them is in the group, the group id
// cannot have been reused. (A process that left its group is
// out of the ledger's reach: under a service manager, KillMode=control-group ends
// those; under cgroup limits, the stale cgroups are emptied at start.)
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import { MemberScan } from './group-members.js';
import { endGroups } from './process-group.js';
import { processStat, uptimeTicks } from './proc-stat.js';

/** An entry: a group's id (its leader's pid) and a start time, in clock ticks after boot. */
export interface LedgerEntry {
  readonly pgid: number;
  /** The start time of the process the entry names: `member`, or the leader. */
  readonly started: number;
  /** A process of the group recorded after its leader exited; absent: the leader. */
  readonly member?: number;
}

// Entries written before the file is compacted to the groups still alive; at least as
// many as the last compaction kept, so that many live groups (a student's commands each
// leaving processes behind) cost a compaction per that many writes, not one per write.
const COMPACT_EVERY = 4096;
// A ledger larger than this at start is not trusted (nobody writes that much to it).
const MAX_LEDGER_BYTES = 16 * 1024 * 1024;

/** The groups a server started, kept in a file. */
export class GroupLedger {
  readonly #fd: number;
  readonly #path: string;
  // Entries written since the last compaction, and how many it kept.
  #written = 0;
  #kept = 0;
  #closed = false;
  readonly #members: MemberScan;

  private constructor(fd: number, path: string) {
    this.#fd = fd;
    this.#path = path;
    this.#members = new MemberScan((found) =>
      this.#write(found.map(({ pgid, pid, started }) => ({ pgid, started, member: pid }))),
    );
  }

  /**
   * Opens (creating) the ledger at `path`, in a directory only this user can write;
   * returns it with the entries a previous server left in it. Throws when the file or
   * its directory belongs to someone else or is open to others: a ledger others can
   * write could make rexecd signal their choice of groups.
   */
  static open(path: string): { ledger: GroupLedger; left: LedgerEntry[] } {
    // Stryker disable next-line OptionalChaining,LogicalOperator: process.getuid exists on Linux, the ledger's only platform; as root (the tests' user) `&& 0` is 0 too.
    const uid = process.getuid?.() ?? 0;
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    checkOwned(dir, uid, 'directory');
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_APPEND, 0o600);
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.uid !== uid || (stat.mode & 0o022) !== 0) {
        throw new Error(`${path} is not a file of uid ${uid} closed to others`);
      }
      const left = stat.size > MAX_LEDGER_BYTES ? [] : parseLedger(readFileSync(fd, 'utf8'));
      ftruncateSync(fd, 0);
      return { ledger: new GroupLedger(fd, path), left };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * Records a group just started (its leader is `pgid`), with its leader's start time
   * when the caller has read it already (one read of /proc per command, not two).
   */
  record(pgid: number, started = startTime(pgid)): void {
    if (started === undefined) return;
    this.#write([{ pgid, started }]);
  }

  /**
   * Records processes still in group `pgid`, whose leader has just been reaped (its
   * entry no longer names the group), once the next look through /proc finds them
   * (group-members.ts: at most once a second, all such groups together).
   */
  recordMembers(pgid: number): void {
    this.#members.add(pgid, uptimeTicks());
  }

  #write(entries: readonly LedgerEntry[]): void {
    // A look through /proc may end after close: its descriptor may be another file's by then.
    if (this.#closed) return;
    writeSync(this.#fd, entries.map(ledgerLine).join(''));
    this.#written += entries.length;
    if (this.#written >= Math.max(COMPACT_EVERY, this.#kept)) this.#compact();
  }

  /** Removes the ledger: a server that stops cleanly has ended its groups. */
  close(): void {
    this.#closed = true;
    // Stryker disable next-line CallExpression: a look left running finds the ledger closed and writes nothing; stopping it only spares the work.
    this.#members.stop();
    try {
      unlinkSync(this.#path);
    } catch {
      // Removed by hand meanwhile: nothing is left to say either way.
    } finally {
      closeSync(this.#fd);
    }
  }

  // Keeps only the groups whose leaders still run.
  #compact(): void {
    const alive = parseLedger(readFileSync(this.#path, 'utf8')).filter(isAlive);
    ftruncateSync(this.#fd, 0);
    writeSync(this.#fd, alive.map(ledgerLine).join(''));
    this.#written = 0;
    this.#kept = alive.length;
  }
}

/**
 * Ends the groups of `entries` that are still the ones recorded: SIGTERM, then SIGKILL
 * after `graceMs`. Returns the groups signalled.
 */
export function endLeftGroups(entries: readonly LedgerEntry[], graceMs: number): number[] {
  const alive = entries.filter(isAlive);
  const pgids = [...new Set(alive.map((entry) => entry.pgid))];
  // A group whose leader is recorded: that leader's start time (the SIGTERM may end it, and
  // its number be taken before the SIGKILL). One known only by its members: its leader had
  // gone before this rexecd started, so a process with that number is another one.
  const leaders = new Map(alive.filter((entry) => entry.member === undefined).map((e) => [e.pgid, e.started]));
  // Stryker disable next-line StringLiteral: any leader that is not a start time means "gone" to signalGroup; the name only says so.
  endGroups(pgids, graceMs, (pgid) => leaders.get(pgid) ?? 'reaped');
  return pgids;
}

/** An entry's line: `PGID STARTED` for a leader, `PGID STARTED PID` for a member. */
export function ledgerLine(entry: LedgerEntry): string {
  return entry.member === undefined
    ? `${entry.pgid} ${entry.started}\n`
    : `${entry.pgid} ${entry.started} ${entry.member}\n`;
}

/** The entries of a ledger's text; lines that are not two or three positive integers are skipped. */
export function parseLedger(text: string): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d{1,10}) (\d{1,20})(?: (\d{1,10}))?$/.exec(line);
    if (match === null) continue;
    const pgid = Number(match[1]);
    const started = Number(match[2]);
    if (pgid <= 1 || !Number.isSafeInteger(started)) continue;
    if (match[3] === undefined) {
      entries.push({ pgid, started });
    } else {
      const member = Number(match[3]);
      if (member > 1) entries.push({ pgid, started, member });
    }
  }
  return entries;
}

/**
 * True when the process the entry names still runs (same pid, same start time, not a
 * zombie) and is still in the entry's group.
 */
export function isAlive(entry: LedgerEntry): boolean {
  const stat = processStat(entry.member ?? entry.pgid);
  return stat !== undefined && stat.started === entry.started && stat.pgrp === entry.pgid;
}

/** A process's start time in clock ticks after boot (/proc/PID/stat field 22), or undefined when gone. */
export function startTime(pid: number): number | undefined {
  return processStat(pid)?.started;
}

function checkOwned(path: string, uid: number, what: string): void {
  const stat = lstatSync(path);
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o022) !== 0) {
    throw new Error(`the ledger's ${what} ${path} must belong to uid ${uid} and be closed to others`);
  }
}
