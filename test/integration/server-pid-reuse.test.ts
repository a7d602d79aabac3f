// A command's group number, once its leader has been reaped, can be taken by an unrelated
// process while the command is still "running" for rexecd (its output held open by a
// process outside the group, or a terminal command whose exit is still on its way).
// Signals meant for the command must never reach that other process. The number is
// handed out on purpose here (/proc/sys/kernel/ns_last_pid, root only); a student can
// get the same by forking until the pids wrap.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_MS, pidAlive, RawClient, waitUntil } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { fileHelpersOf, processesRunning } from '../helpers/processes.js';
import { startLab } from '../helpers/lab.js';
import { endLeftGroups, startTime } from '../../src/server/group-ledger.js';

const IS_ROOT = process.getuid?.() === 0;
const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';
// Long enough that the number is had well within it, even on a busy machine.
const GRACE_MS = 8000;

// An unrelated process leading a group of its own with pid `pid`, or undefined when the
// number could not be had. The pids wrap often on a busy machine (pid_max is often 32768
// and the suite forks thousands of processes), so the number may be held for a while by
// a process of another test, and another fork may take it between the write and ours:
// wait for it to be free and try again, for as long as the usual deadline allows.
async function stranger(pid: number): Promise<ChildProcess | undefined> {
  const deadline = Date.now() + DEADLINE_MS;
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

describe.runIf(IS_ROOT && existsSync(NS_LAST_PID))('a group number reused while the command still runs', () => {
  let server: TestServer;
  let client: RawClient;
  beforeAll(async () => {
    server = await startServer();
    client = await RawClient.ready(server.port, server.key);
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  it("a client's signal does not reach the process that got the number", async () => {
    // The leader exits at once; a process that left the group (setsid) keeps stdout open.
    client.send({ type: 'exec', id: 1, argv: ['sh', '-c', 'setsid sleep 57 & echo go'] });
    const pid = Number((await client.next('started', 1)).header['pid']);
    await client.next('stdout', 1);
    await waitUntil(() => !pidAlive(pid) && !existsSync(`/proc/${pid}`), 'the leader to be reaped');
    let other: ChildProcess | undefined;
    try {
      other = await stranger(pid);
      expect(other, `pid ${pid} could not be had`).toBeDefined();
      client.send({ type: 'signal', id: 1, signal: 'SIGKILL' });
      // Frames are handled in order: once the pong is back, the signal has been dealt with.
      client.send({ type: 'ping', ts: 1 });
      await client.next('pong');
      expect(pidAlive(pid), 'the unrelated process was killed').toBe(true);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('/bin/sleep\u000060\u0000');
    } finally {
      other?.kill('SIGKILL');
      // The process that left the group is out of rexecd's reach (a documented limit).
      for (const left of processesRunning('sleep 57')) process.kill(left, 'SIGKILL');
    }
  });
});

// The SIGKILL that follows a SIGTERM after the grace period is where a number is most
// easily reused: the SIGTERM ended the group at once, and the number was free for the
// whole grace period. Timers of the same duration fire in the order they were set, so a
// group that ignores SIGTERM, ended just before, tells that the SIGKILL was not sent yet
// when the number was had (it still lives), and one ended just after tells that it has
// been (it died).
describe.runIf(IS_ROOT && existsSync(NS_LAST_PID))('a group number reused within the grace period', () => {
  it("an aborted download does not SIGKILL the process that got its helper's number", async () => {
    const lab = await startLab({ allow: '*' }, { alice: {} }, { graceMs: GRACE_MS });
    const clients: RawClient[] = [];
    const helpers: number[] = [];
    let other: ChildProcess | undefined;
    // A download that stays under way: 4 GiB of a sparse file, read by a client that stopped reading.
    async function download(id: number): Promise<{ client: RawClient; helper: number }> {
      const client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      clients.push(client);
      const before = new Set(fileHelpersOf(process.pid));
      client.send({ type: 'get', id, path: 'big' });
      await client.next('file', id);
      client.socket.pause();
      const helper = fileHelpersOf(process.pid).find((pid) => !before.has(pid));
      expect(helper, 'the file helper of the download').toBeDefined();
      helpers.push(helper as number);
      return { client, helper: helper as number };
    }
    async function abort(client: RawClient, id: number): Promise<void> {
      client.send({ type: 'signal', id, signal: 'SIGINT' });
      await waitUntil(
        () => lab.events.some((e) => e['event'] === 'get' && e['id'] === id && e['result'] === 'aborted'),
        `the download ${id} to be aborted`,
      );
    }
    try {
      writeFileSync(join(lab.root, 'big'), '');
      truncateSync(join(lab.root, 'big'), 4 * 1024 ** 3);
      const before = await download(1);
      const victim = await download(2);
      const after = await download(3);
      process.kill(before.helper, 'SIGSTOP');
      process.kill(after.helper, 'SIGSTOP');
      await abort(before.client, 1);
      await abort(victim.client, 2);
      await waitUntil(() => !existsSync(`/proc/${victim.helper}`), 'the helper to end on SIGTERM');
      other = await stranger(victim.helper);
      expect(other, `pid ${victim.helper} could not be had`).toBeDefined();
      expect(pidAlive(before.helper), 'the number was had only after the grace period').toBe(true);
      await abort(after.client, 3);
      await waitUntil(() => !pidAlive(after.helper), 'the SIGKILL after the grace period', DEADLINE_MS + GRACE_MS);
      expect(pidAlive(victim.helper), 'the unrelated process was killed').toBe(true);
      expect(readFileSync(`/proc/${victim.helper}/cmdline`, 'utf8')).toBe('/bin/sleep\u000060\u0000');
    } finally {
      other?.kill('SIGKILL');
      for (const helper of helpers.filter(pidAlive)) process.kill(helper, 'SIGKILL');
      for (const client of clients) client.close();
      await lab.stop();
    }
  });

  it('a restarted rexecd ending a left group does not SIGKILL the process that got its number', async () => {
    const groups: ChildProcess[] = [];
    // A group leader as rexecd starts commands; `deaf` ones ignore SIGTERM (so does their exec).
    async function group(deaf: boolean): Promise<{ pgid: number; started: number }> {
      const argv = deaf ? ['/bin/sh', '-c', "trap '' TERM; exec /bin/sleep 58"] : ['/bin/sleep', '58'];
      const child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: 'ignore' });
      groups.push(child);
      const pgid = child.pid as number;
      await waitUntil(() => readFileSync(`/proc/${pgid}/cmdline`, 'utf8').startsWith('/bin/sleep'), 'the group');
      return { pgid, started: startTime(pgid) as number };
    }
    let other: ChildProcess | undefined;
    try {
      const before = await group(true);
      const victim = await group(false);
      const after = await group(true);
      const victimExit = once(groups[1] as ChildProcess, 'exit');
      expect(endLeftGroups([before], GRACE_MS)).toStrictEqual([before.pgid]);
      expect(endLeftGroups([victim, after], GRACE_MS)).toStrictEqual([victim.pgid, after.pgid]);
      await victimExit;
      other = await stranger(victim.pgid);
      expect(other, `pid ${victim.pgid} could not be had`).toBeDefined();
      expect(pidAlive(before.pgid), 'the number was had only after the grace period').toBe(true);
      await waitUntil(() => !pidAlive(after.pgid), 'the SIGKILL after the grace period', DEADLINE_MS + GRACE_MS);
      expect(pidAlive(victim.pgid), 'the unrelated process was killed').toBe(true);
      expect(readFileSync(`/proc/${victim.pgid}/cmdline`, 'utf8')).toBe('/bin/sleep\u000060\u0000');
    } finally {
      other?.kill('SIGKILL');
      for (const child of groups) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
