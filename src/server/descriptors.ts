// Descriptors a process inherited without close-on-exec are passed on to every program
// it starts. rexecd starts programs for untrusted users, so whatever its own parent left
// open (a log pipe, a socket, a terminal) would reach every command. Node opens all of
// its own descriptors close-on-exec, and marks inherited ones close-on-exec at start
// from 0 up to the first gap above 15; any other one above 2 is such an inheritance,
// and is closed once at start-up, before anything is listening. Node's IPC channel, when
// it is one of them, is ended through Node instead: closed underneath, Node would go on
// reading whatever descriptor takes its number next (a client's connection).
import { closeSync, readdirSync, readFileSync } from 'node:fs';

// Linux's O_CLOEXEC in the `flags:` line of /proc/PID/fdinfo/N (octal).
const O_CLOEXEC = 0o2000000;

/** A process's IPC channel: its descriptor, and how to end it. */
export interface IpcChannel {
  readonly fd: number;
  disconnect(): void;
}

/**
 * Closes every descriptor above 2 that is not close-on-exec (the IPC channel by
 * disconnecting it); returns the numbers closed. Without /proc, closes nothing. For a
 * program's start-up only: a library must not close its host's descriptors.
 */
export function closeInheritedDescriptors(): number[] {
  return closeDescriptors(inheritedDescriptors('self'), closeSync, ownIpcChannel());
}

/** Closes `fds` with `close`, except `channel`'s, which is disconnected; returns those closed. */
export function closeDescriptors(
  fds: readonly number[],
  close: (fd: number) => void,
  channel: IpcChannel | undefined,
): number[] {
  const closed: number[] = [];
  for (const fd of fds) {
    try {
      if (fd === channel?.fd) channel.disconnect();
      else close(fd);
      closed.push(fd);
    } catch {
      // Gone meanwhile.
    }
  }
  return closed;
}

/**
 * The IPC channel of `proc` (this process), if it was started with one. (Node removes
 * NODE_CHANNEL_FD from the environment as it opens the channel; the channel knows its
 * descriptor.)
 */
export function ownIpcChannel(proc: Pick<NodeJS.Process, 'channel' | 'disconnect'> = process): IpcChannel | undefined {
  const fd = (proc.channel as { readonly fd?: number } | undefined)?.fd;
  return fd === undefined ? undefined : { fd, disconnect: () => proc.disconnect() };
}

/** The descriptors above 2 of process `pid` that a program it starts would inherit (ascending, as /proc lists them), or [] without /proc. */
export function inheritedDescriptors(pid: number | 'self'): number[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return [];
  }
  return names
    .map(Number)
    .filter((fd) => fd > 2)
    .filter((fd) => {
      const flags = descriptorFlags(pid, fd);
      // The listing's own descriptor (self) is gone by now: undefined.
      return flags !== undefined && (flags & O_CLOEXEC) === 0;
    });
}

function descriptorFlags(pid: number | 'self', fd: number): number | undefined {
  const path = `/proc/${pid}/fdinfo/${fd}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // Stryker disable next-line Regex: the kernel writes the line as "flags:\t<octal>" in every file: the anchors and one-or-more blanks change nothing.
  const match = text.match(/^flags:\s*([0-7]+)$/m);
  // Stryker disable next-line ConditionalExpression: every fdinfo file has a flags line; the test is for the type.
  return match === null ? undefined : parseInt(match[1] as string, 8);
}
