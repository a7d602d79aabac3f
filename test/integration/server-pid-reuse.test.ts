// A command's group number, once its leader has been reaped, can be taken by an unrelated
// process while the command is still "running" for rexecd (its output held open by a
// process outside the group, or a terminal command whose exit is still on its way).
// Signals meant for the command must never reach that other process. The number is
// handed out on purpose here (/proc/sys/kernel/ns_last_pid, root only); a student can
// get the same by forking until the pids wrap.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_MS, pidAlive, RawClient, waitUntil } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { processesRunning } from '../helpers/processes.js';

const IS_ROOT = process.getuid?.() === 0;
const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

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
