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

/** What is known of a group's leader at the moment a signal is sent (see signalGroup). */
export type LeaderOf = (pgid: number) => Leader | undefined;

/**
 * The leader a process started by rexecd is, asked at each signal: its start time until
 * its exit is known, then `'reaped'`. (A grace period is long enough for a student who
 * forks until the pids wrap to get the number of a group that ended on SIGTERM.)
 */
export function leaderOf(spawned: { readonly exited: Promise<unknown>; readonly started?: number }): LeaderOf {
  let reaped = false;
  void spawned.exited.then(() => (reaped = true));
  return () => (reaped ? 'reaped' : spawned.started);
}

/**
 * Ends groups: SIGTERM (and SIGCONT) now, SIGKILL to those still alive after `graceMs`.
 * `leader` tells what is known of each group's leader at the moment of each signal (see
 * signalGroup): the SIGKILL must not reach a group that took the number meanwhile.
 */
export function endGroups(pgids: readonly number[], graceMs: number, leader: LeaderOf): void {
  const alive = pgids.filter((pgid) => signalGroup(pgid, 'SIGTERM', leader(pgid)));
  if (alive.length === 0) return;
  // A stopped process hears its SIGTERM only once continued (a student can stop her own):
  // woken now, it ends now (and cleans up, as the file helper does), not at the SIGKILL.
  for (const pgid of alive) signalGroup(pgid, 'SIGCONT', leader(pgid));
  setTimeout(() => {
    for (const pgid of alive) signalGroup(pgid, 'SIGKILL', leader(pgid));
  }, graceMs);
}
