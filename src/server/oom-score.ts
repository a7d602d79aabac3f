// The kernel's OOM killer must pick a student's process, never rexecd: rexecd lowers
// its own oom_score_adj at start (the program does, not the library: that changes the
// whole process), and every command is raised before its own code runs. A child
// inherits its parent's score, so a command of a lowered rexecd must never keep it.
import { readFileSync, writeFileSync } from 'node:fs';

/** rexecd's own score when it may lower it (root with CAP_SYS_RESOURCE). */
export const DAEMON_OOM_SCORE_ADJ = -900;
/** Every command's score when rexecd is root: the OOM killer's first choice. */
export const COMMAND_OOM_SCORE_ADJ = 500;

// The calling process's own score (`file` below is for tests).
const OWN_SCORE_FILE = '/proc/self/oom_score_adj';

/** The calling process's oom_score_adj (0 when it cannot be read). */
export function ownOomScoreAdj(file = OWN_SCORE_FILE): number {
  try {
    // Stryker disable next-line StringLiteral: Number() reads a Buffer as its text all the same.
    const value = Number(readFileSync(file, 'utf8'));
    return Number.isInteger(value) ? value : 0;
  } catch {
    return 0;
  }
}

/**
 * Lowers this process's oom_score_adj to DAEMON_OOM_SCORE_ADJ. Only root with
 * CAP_SYS_RESOURCE may go below zero: says why when it was refused.
 */
export function protectFromOomKiller(
  file = OWN_SCORE_FILE,
): { readonly adjusted: true } | { readonly adjusted: false; readonly reason: string } {
  try {
    writeFileSync(file, String(DAEMON_OOM_SCORE_ADJ));
    return { adjusted: true };
  } catch (error) {
    return { adjusted: false, reason: (error as Error).message };
  }
}

/**
 * The score a command is given before it runs, or undefined to let it inherit
 * rexecd's. Only root can raise a score so that the command cannot lower it again
 * (the kernel pins the minimum to what a CAP_SYS_RESOURCE writer set). It is raised
 * whenever the launch has a root preamble anyway (cgroups), and whenever rexecd's own
 * score is below zero, which a child must never keep; never below rexecd's own.
 */
export function commandOomScoreAdj(settings: {
  readonly root: boolean;
  readonly own: number;
  readonly preamble: boolean;
}): number | undefined {
  if (!settings.root) return undefined;
  if (!settings.preamble && settings.own >= 0) return undefined;
  return Math.max(COMMAND_OOM_SCORE_ADJ, settings.own);
}
