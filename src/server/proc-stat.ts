// What /proc says of a process (its group, session and start time) and of the clock its
// start times count in. Linux only, as the ledger of process groups that reads it.
import { readFileSync } from 'node:fs';

/** Fields of /proc/PID/stat a restarted rexecd relies on to know a process again. */
export interface ProcessStat {
  /** Its process group (field 5). */
  readonly pgrp: number;
  /** Its session (field 6). */
  readonly session: number;
  /** Its start time in clock ticks after boot (field 22). */
  readonly started: number;
}

// Clock ticks per second of /proc's start times (USER_HZ): 100 on every Linux platform.
const TICKS_PER_SECOND = 100;

/** The process's fields, or undefined when it is gone or a zombie. */
export function processStat(pid: number, procDir = '/proc'): ProcessStat | undefined {
  const fields = statFields(pid, procDir);
  // Stryker disable next-line ConditionalExpression,StringLiteral: the kernel never shows X (dead), a task is gone from /proc by then; it is checked as the kernel documents it.
  if (fields === undefined || fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const started = Number(fields[19]);
  if (!Number.isSafeInteger(started)) return undefined;
  return { pgrp: Number(fields[2]), session: Number(fields[3]), started };
}

/**
 * The start time of `pid` in clock ticks after boot, a zombie's too (its number is not
 * free until it is reaped), or undefined when there is no such process.
 */
export function startTimeOf(pid: number, procDir = '/proc'): number | undefined {
  const started = Number(statFields(pid, procDir)?.[19]);
  return Number.isSafeInteger(started) ? started : undefined;
}

// The fields of /proc/PID/stat after the command name (state first), or undefined when
// there is no such process. The name (field 2) may hold spaces and parentheses: the
// fields are counted from the last ')'.
function statFields(pid: number, procDir: string): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${procDir}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * Now, in the clock of start times (ticks after boot, from /proc/uptime), rounded up: a
 * process started before this call has a start time no later than it.
 */
export function uptimeTicks(procDir = '/proc'): number {
  const seconds = Number(readFileSync(`${procDir}/uptime`, 'utf8').split(' ')[0]);
  return Math.ceil(seconds * TICKS_PER_SECOND);
}
