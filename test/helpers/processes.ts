// Processes found by what they run, for tests that check nothing is left behind.
import { readdirSync, readFileSync } from 'node:fs';

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
