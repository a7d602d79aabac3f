// Signals to a whole process group: each command leads its own group (its pid is the
// group id), so its children and grandchildren are reached too.

/**
 * Sends `signal` (or 0: only a check) to process group `pgid`. Returns false when no
 * process of the group could be signalled (gone already, or not ours to signal).
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
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

/** Ends groups: SIGTERM now, SIGKILL to those still alive after `graceMs`. */
export function endGroups(pgids: readonly number[], graceMs: number): void {
  const alive = pgids.filter((pgid) => signalGroup(pgid, 'SIGTERM'));
  if (alive.length === 0) return;
  setTimeout(() => {
    for (const pgid of alive) signalGroup(pgid, 'SIGKILL');
  }, graceMs);
}
