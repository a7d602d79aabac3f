// Descriptors a process inherited without close-on-exec are passed on to every program
// it starts. rexecd starts programs for untrusted users, so whatever its own parent left
// open (a log pipe, a socket, a terminal) would reach every command. Node opens all of
// its own descriptors close-on-exec, so any other one above 2 is such an inheritance,
// and is closed once at start-up, before anything is listening.
import { closeSync, readdirSync, readFileSync } from 'node:fs';

// Linux's O_CLOEXEC in the `flags:` line of /proc/self/fdinfo/N (octal).
const O_CLOEXEC = 0o2000000;

/**
 * Closes every descriptor above 2 that is not close-on-exec, except those Node itself
 * uses for an IPC channel; returns the numbers closed. Without /proc, closes nothing.
 * For a program's start-up only: a library must not close its host's descriptors.
 */
export function closeInheritedDescriptors(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fdinfo');
  } catch {
    return [];
  }
  const keep = new Set([Number(process.env['NODE_CHANNEL_FD'] ?? -1)]);
  const closed: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2 || keep.has(fd)) continue;
    const flags = descriptorFlags(fd);
    if (flags === undefined || (flags & O_CLOEXEC) !== 0) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // Gone meanwhile (the directory listing's own descriptor, for one).
    }
  }
  return closed;
}

function descriptorFlags(fd: number): number | undefined {
  try {
    const match = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return match === null ? undefined : parseInt(match[1] as string, 8);
  } catch {
    return undefined;
  }
}
