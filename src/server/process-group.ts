// Signals to a whole process group: each command leads its own group (its pid is the
// group id), so its children and grandchildren are reached too.
import { startTimeOf } from './proc-stat.js';

/**
 * Sends `signal` (or 0: only a check) to process group `pgid`. Returns false when no
 * process of the group could be signalled (gone already, or not ours to signal).
 *
 * `leaderStarted`, the start time of the process that led the group (proc-stat.ts), is
 * for groups whose leader may have been reaped meanwhile: its number is then free, and a
 * process started later may lead a new group of that number. A process with that pid and
 * another start time means exactly that, and nothing is sent. (A new group whose own
 * leader has gone too cannot be told from the command's: the number would have to come
 * round twice.)
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0, leaderStarted?: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  if (leaderStarted !== undefined) {
    const now = startTimeOf(pgid);
    if (now !== undefined && now !== leaderStarted) return false;
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
  leaders: ReadonlyMap<number, number> = new Map(),
): void {
  const alive = pgids.filter((pgid) => signalGroup(pgid, 'SIGTERM', leaders.get(pgid)));
  if (alive.length === 0) return;
  setTimeout(() => {
    for (const pgid of alive) signalGroup(pgid, 'SIGKILL', leaders.get(pgid));
  }, graceMs);
}
