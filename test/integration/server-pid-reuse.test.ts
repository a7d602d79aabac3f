// A command's group number, once its leader has been reaped, can be taken by an unrelated
// process while the command is still "running" for rexecd (its output held open by a
// process outside the group, or a terminal command whose exit is still on its way).
// Signals meant for the command must never reach that other process. The number is
// handed out on purpose here (/proc/sys/kernel/ns_last_pid, root only); a student can
// get the same by forking until the pids wrap.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_MS, pidAlive, RawClient, waitUntil } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { fileHelpersOf, NS_LAST_PID, processesRunning, strangerWithPid } from '../helpers/processes.js';
import { startLab } from '../helpers/lab.js';

const IS_ROOT = process.getuid?.() === 0;
// Long enough that the number is had well within it, even on a busy machine.
const GRACE_MS = 8000;

// The number handed out on purpose (test/helpers/processes.ts).
const stranger = (pid: number): Promise<ChildProcess | undefined> => strangerWithPid(pid, Date.now() + DEADLINE_MS);

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
// group deaf to SIGTERM (left behind by a command, ended when its connection closes) tells,
// ended just before, that the SIGKILL was not sent yet when the number was had (it still
// lives), and ended just after, that it has been (it died).
describe.runIf(IS_ROOT && existsSync(NS_LAST_PID))('a group number reused within the grace period', () => {
  it("an aborted download does not SIGKILL the process that got its helper's number", async () => {
    const lab = await startLab({ allow: '*' }, { alice: {} }, { graceMs: GRACE_MS });
    const clients: RawClient[] = [];
    const pids: number[] = [];
    let other: ChildProcess | undefined;
    const connect = async (): Promise<RawClient> => {
      const client = await RawClient.ready(lab.port, lab.keys['alice'] as string, 'alice');
      clients.push(client);
      return client;
    };
    // A download that stays under way: 4 GiB of a sparse file, read by a client that stopped reading.
    async function download(id: number): Promise<{ client: RawClient; helper: number }> {
      const client = await connect();
      const before = new Set(fileHelpersOf(process.pid));
      client.send({ type: 'get', id, path: 'big' });
      await client.next('file', id);
      client.socket.pause();
      const helper = fileHelpersOf(process.pid).find((pid) => !before.has(pid));
      expect(helper, 'the file helper').toBeDefined();
      pids.push(helper as number);
      return { client, helper: helper as number };
    }
    // A command that leaves a process deaf to SIGTERM in its group.
    async function deaf(seconds: number): Promise<{ client: RawClient; pid: number }> {
      const client = await connect();
      const script = `trap '' TERM; sleep ${seconds} >/dev/null 2>&1 & echo $!`;
      client.send({ type: 'exec', id: 1, argv: ['sh', '-c', script] });
      const pid = Number((await client.next('stdout', 1)).body.toString().trim());
      pids.push(pid);
      await client.next('exit', 1);
      return { client, pid };
    }
    const disconnects = (): number => lab.events.filter((e) => e['event'] === 'disconnect').length;
    async function close(client: RawClient): Promise<void> {
      const before = disconnects();
      client.close();
      await waitUntil(() => disconnects() > before, 'the connection to close');
    }
    try {
      writeFileSync(join(lab.root, 'big'), '');
      truncateSync(join(lab.root, 'big'), 4 * 1024 ** 3);
      const victim = await download(2);
      const before = await deaf(61);
      const after = await deaf(62);
      await close(before.client);
      victim.client.send({ type: 'signal', id: 2, signal: 'SIGINT' });
      await waitUntil(
        () => lab.events.some((e) => e['event'] === 'get' && e['id'] === 2 && e['result'] === 'aborted'),
        'the download to be aborted',
      );
      await waitUntil(() => !existsSync(`/proc/${victim.helper}`), 'the helper to end on SIGTERM');
      other = await stranger(victim.helper);
      expect(other, `pid ${victim.helper} could not be had`).toBeDefined();
      expect(pidAlive(before.pid), 'the number was had only after the grace period').toBe(true);
      await close(after.client);
      await waitUntil(() => !pidAlive(after.pid), 'the SIGKILL after the grace period', DEADLINE_MS + GRACE_MS);
      expect(pidAlive(victim.helper), 'the unrelated process was killed').toBe(true);
      expect(readFileSync(`/proc/${victim.helper}/cmdline`, 'utf8')).toBe('/bin/sleep\u000060\u0000');
    } finally {
      other?.kill('SIGKILL');
      for (const pid of pids.filter(pidAlive)) process.kill(pid, 'SIGKILL');
      for (const client of clients) client.close();
      await lab.stop();
    }
  });
});
