// Processes found by what they run, for tests that check nothing is left behind.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Pids of the processes whose command line (arguments joined by spaces) contains `marker`. */
export function processesRunning(marker: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The file helpers that process `parent` started (a lab server running in a test's own process). */
export function fileHelpersOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === parent && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('file-helper');
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Where root sets the last pid handed out, so that the next fork gets the one after. */
export const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

/**
 * An unrelated `/bin/sleep 60` leading a group of its own with pid `pid` (root only), or
 * undefined when the number could not be had by `deadline`. A student gets the same by
 * forking until the pids wrap. The pids wrap often on a busy machine (pid_max is often
 * 32768 and the suite forks thousands of processes), so the number may be held for a
 * while by a process of another test, and another fork may take it between the write and
 * ours: wait for it to be free and try again.
 */
export async function strangerWithPid(pid: number, deadline: number): Promise<ChildProcess | undefined> {
  while (Date.now() < deadline) {
    if (existsSync(`/proc/${pid}`)) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      continue;
    }
    writeFileSync(NS_LAST_PID, String(pid - 1));
    const child = spawn('/bin/sleep', ['60'], { detached: true, stdio: 'ignore' });
    if (child.pid === pid) return child;
    child.kill('SIGKILL');
  }
  return undefined;
}
