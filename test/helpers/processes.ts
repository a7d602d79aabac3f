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
