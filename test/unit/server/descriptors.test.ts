// Which descriptors a process would pass on to the programs it starts, read from the
// kernel's /proc/PID/fdinfo of real child processes started with extra descriptors (as
// rexecd's own parent could leave them). Closing is recorded, not done: the descriptors
// are the child's; the built rexecd closes its own in test/e2e/rexecd-descriptors.test.ts.
// Only the descriptors each test set up are looked at: this process may have inherited
// others, which every child inherits in turn.
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { fstatSync, readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { closeDescriptors, inheritedDescriptors, ownIpcChannel } from '../../../src/server/descriptors.js';

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
});

// /bin/sleep with 0 to 4 all pipes: none close-on-exec (sleep marks nothing).
const SLEEP_FDS = [0, 1, 2, 3, 4];
function sleeper(): ChildProcess {
  const child = spawn('/bin/sleep', ['60'], { stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

// A node process with pipes at 0 and 3 (which Node marks close-on-exec at start, as it
// does from 0 up to the first gap above 15), its IPC channel at 30 and a pipe at 40 (past
// the gap: left as they were); it has set up its channel when it says "ready".
const NODE_FDS = [0, 1, 2, 3, 30, 40];
async function nodeChild(): Promise<ChildProcess> {
  const stdio: StdioOptions = Array.from({ length: 41 }, (_, fd) =>
    fd === 0 || fd === 3 || fd === 40 ? 'pipe' : fd === 30 ? 'ipc' : 'ignore',
  );
  const child = spawn(process.execPath, ['-e', 'process.send("ready"); setInterval(() => {}, 60_000)'], { stdio });
  children.push(child);
  await once(child, 'message');
  return child;
}

const among = (fds: readonly number[], known: readonly number[]): number[] => fds.filter((fd) => known.includes(fd));

describe('inherited descriptors', () => {
  it('are the ones above 2 without close-on-exec', () => {
    const child = sleeper();
    expect(among(inheritedDescriptors(child.pid as number), SLEEP_FDS)).toStrictEqual([3, 4]);
  });

  it('are not the ones Node marked close-on-exec; a channel or pipe past the gap is one', async () => {
    const child = await nodeChild();
    expect(among(inheritedDescriptors(child.pid as number), NODE_FDS)).toStrictEqual([30, 40]);
  });

  it('are each closed, the IPC channel by disconnecting it (never underneath Node), and listed', async () => {
    const child = await nodeChild();
    const closed: number[] = [];
    let disconnects = 0;
    const channel = { fd: 30, disconnect: () => (disconnects += 1) };
    const result = closeDescriptors(inheritedDescriptors(child.pid as number), (fd) => closed.push(fd), channel);
    expect(among(result, NODE_FDS)).toStrictEqual([30, 40]);
    expect(among(closed, NODE_FDS)).toStrictEqual([40]);
    expect(disconnects).toBe(1);
  });

  it('without an IPC channel, every one is closed', () => {
    const child = sleeper();
    const closed: number[] = [];
    const fds = inheritedDescriptors(child.pid as number);
    expect(closeDescriptors(fds, () => {}, undefined)).toStrictEqual(fds);
    expect(
      among(
        closeDescriptors(inheritedDescriptors(child.pid as number), (fd) => closed.push(fd), undefined),
        SLEEP_FDS,
      ),
    ).toStrictEqual([3, 4]);
    expect(among(closed, SLEEP_FDS)).toStrictEqual([3, 4]);
  });

  it('a descriptor that is gone meanwhile is not listed as closed, and the others still are', () => {
    const child = sleeper();
    const tried: number[] = [];
    const close = (fd: number): void => {
      tried.push(fd);
      if (fd === 3) throw Object.assign(new Error('EBADF: bad file descriptor, close'), { code: 'EBADF' });
    };
    expect(
      among(closeDescriptors(inheritedDescriptors(child.pid as number), close, undefined), SLEEP_FDS),
    ).toStrictEqual([4]);
    expect(among(tried, SLEEP_FDS)).toStrictEqual([3, 4]);
  });

  it('are none for a process that is gone (or without /proc)', async () => {
    const child = spawn('/bin/true');
    children.push(child);
    await once(child, 'exit');
    expect(inheritedDescriptors(child.pid as number)).toStrictEqual([]);
  });

  it('of this process are descriptors that are open, not the one used to list them', () => {
    const own = inheritedDescriptors('self');
    for (const fd of own) expect(() => fstatSync(fd), `descriptor ${fd}`).not.toThrow();
    expect(inheritedDescriptors(process.pid)).toStrictEqual(own);
  });

  it("knows this process's IPC channel (a test worker has one), though Node no longer says so in the environment", () => {
    expect(process.env['NODE_CHANNEL_FD']).toBeUndefined();
    const channel = ownIpcChannel();
    expect(channel).toBeDefined();
    expect(readlinkSync(`/proc/self/fd/${channel?.fd}`)).toMatch(/^socket:/);
  });

  it("is ended through the process's own disconnect, and is none without a channel", () => {
    let disconnects = 0;
    const proc = { channel: { fd: 30 }, disconnect: () => (disconnects += 1) } as unknown as Pick<
      NodeJS.Process,
      'channel' | 'disconnect'
    >;
    const channel = ownIpcChannel(proc);
    expect(channel?.fd).toBe(30);
    channel?.disconnect();
    expect(disconnects).toBe(1);
    expect(ownIpcChannel({ channel: undefined, disconnect: () => {} })).toBeUndefined();
  });
});
