// Group signals that name the leader's start time: a number that now belongs to another
// process (a leader reaped, its pid handed out again) is never signalled.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startTimeOf } from '../../../src/server/proc-stat.js';
import { waitUntil } from '../../helpers/raw-client.js';
import { endGroups, groupAlive, leaderOf, signalGroup } from '../../../src/server/process-group.js';

describe('signalGroup with the leader start time', () => {
  it('signals the group while its leader is the one that started then, not another', async () => {
    const child = spawn('/bin/sleep', ['60'], { detached: true, stdio: 'ignore' });
    const pid = child.pid as number;
    const started = startTimeOf(pid) as number;
    // Another start time: the number is someone else's now; nothing is sent.
    expect(signalGroup(pid, 'SIGKILL', started + 1)).toBe(false);
    expect(signalGroup(pid, 'SIGKILL', started - 1)).toBe(false);
    expect(groupAlive(pid)).toBe(true);
    const exited = once(child, 'exit');
    expect(signalGroup(pid, 'SIGTERM', started)).toBe(true);
    expect(await exited).toStrictEqual([null, 'SIGTERM']);
  });

  it("'reaped': the leader is known to be gone, so a process with its number is another one", async () => {
    const child = spawn('/bin/sleep', ['60'], { detached: true, stdio: 'ignore' });
    const pid = child.pid as number;
    expect(signalGroup(pid, 'SIGKILL', 'reaped')).toBe(false);
    expect(groupAlive(pid)).toBe(true);
    const exited = once(child, 'exit');
    endGroups([pid], 10, () => 'reaped');
    expect(groupAlive(pid)).toBe(true);
    child.kill('SIGTERM');
    await exited;
  });

  it('endGroups passes the start times on: a group of a reused number is left alone', async () => {
    const child = spawn('/bin/sleep', ['60'], { detached: true, stdio: 'ignore' });
    const pid = child.pid as number;
    endGroups([pid], 10, () => (startTimeOf(pid) as number) + 5);
    expect(groupAlive(pid)).toBe(true);
    const exited = once(child, 'exit');
    const started = startTimeOf(pid) as number;
    endGroups([pid], 10, () => started);
    expect(await exited).toStrictEqual([null, 'SIGTERM']);
  });

  it('endGroups asks again at the SIGKILL: a leader known gone by then is not signalled', async () => {
    // The group ignores SIGTERM, so only the SIGKILL would end it.
    const child = spawn('/bin/sh', ['-c', "trap '' TERM; echo ready; exec /bin/sleep 60"], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = child.pid as number;
    await once(child.stdout, 'data');
    const started = startTimeOf(pid) as number;
    const asked: string[] = [];
    let known: number | 'reaped' = started;
    endGroups([pid], 10, (pgid) => {
      asked.push(`${pgid}:${known}`);
      return known;
    });
    known = 'reaped';
    const exited = once(child, 'exit');
    // Asked for the SIGTERM and its SIGCONT, then again for the SIGKILL: that answer kept it from being sent.
    await waitUntil(() => asked.length === 3, 'the SIGKILL round');
    expect(asked).toStrictEqual([`${pid}:${started}`, `${pid}:${started}`, `${pid}:reaped`]);
    expect(groupAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await exited;
  });
});

describe('endGroups on a stopped group', () => {
  it('wakes it (SIGCONT) so that the SIGTERM is heard now, not only the SIGKILL after the grace period', async () => {
    const child = spawn('/bin/sleep', ['60'], { detached: true, stdio: 'ignore' });
    const pid = child.pid as number;
    const exited = once(child, 'exit');
    process.kill(pid, 'SIGSTOP');
    await waitUntil(() => /^State:\s+T/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')), 'the group to stop');
    endGroups([pid], 600_000, () => startTimeOf(pid));
    expect(await exited).toStrictEqual([null, 'SIGTERM']);
  });
});

describe('leaderOf', () => {
  it("is the start time until the exit is known, then 'reaped'", async () => {
    const child = spawn('/bin/sleep', ['60'], { detached: true, stdio: 'ignore' });
    const pid = child.pid as number;
    const started = startTimeOf(pid);
    const exited = once(child, 'exit');
    const leader = leaderOf({ exited, started });
    expect(started).toBeDefined();
    expect(leader(pid)).toBe(started);
    child.kill('SIGKILL');
    await exited;
    expect(leader(pid)).toBe('reaped');
    expect(leaderOf({ exited: new Promise(() => undefined) })(pid)).toBeUndefined();
  });
});
