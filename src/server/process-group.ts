// Signals to a whole process group: each command leads its own group (its pid is the
// group id), so its children and grandchildren are reached too.
import { startTimeOf } from './proc-stat.js';

/** What is known of a group's leader: its start time, or that it has been reaped. */
export type Leader = number | 'reaped';

/**
 * Sends `signal` (or 0: only a check) to process group `pgid`. Returns false when no
 * process of the group could be signalled (gone already, or not ours to signal).
 *
 * `leader` is for groups whose leader may have been reaped meanwhile: its number is then
 * free, and a process started later may lead a new group of that number. `'reaped'` (the
 * leader is known to be gone): any process with that pid is another one, and nothing is
 * sent. A start time (proc-stat.ts; 10 ms ticks): a process with that pid and another
 * start time is another one. (A new group whose own leader has gone too cannot be told
 * from the command's: the number would have to come round twice.)
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0, leader?: Leader): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  if (leader !== undefined) {
    const now = startTimeOf(pgid);
    if (now !== undefined && (leader === 'reaped' || now !== leader)) return false;
  }
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: the group is gone; EPERM: its members changed identity (setuid).
    return false;
  }
}

/** True while any process of group `pgid` is alive. */
export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/**
 * Ends groups: SIGTERM now, SIGKILL to those still alive after `graceMs`. `leaders` gives
 * the start times of their leaders where known (see signalGroup).
 */
export function endGroups(
  pgids: readonly number[],
  graceMs: number,
  leaders: ReadonlyMap<number, Leader> = new Map(),
): void {
  const alive = pgids.filter((pgid) => signalGroup(pgid, 'SIGTERM', leaders.get(pgid)));
  if (alive.length === 0) return;
  setTimeout(() => {
    for (const pgid of alive) signalGroup(pgid, 'SIGKILL', leaders.get(pgid));
  }, graceMs);
}
