// Group signals that name the leader's start time: a number that now belongs to another
// process (a leader reaped, its pid handed out again) is never signalled.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startTimeOf } from '../../../src/server/proc-stat.js';
import { endGroups, groupAlive, signalGroup } from '../../../src/server/process-group.js';

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
    endGroups([pid], 10, new Map([[pid, 'reaped']]));
    expect(groupAlive(pid)).toBe(true);
    child.kill('SIGTERM');
    await exited;
  });

  it('endGroups passes the start times on: a group of a reused number is left alone', async () => {
    const child = spawn('/bin/sleep', ['60'], { detached: true, stdio: 'ignore' });
    const pid = child.pid as number;
    endGroups([pid], 10, new Map([[pid, (startTimeOf(pid) as number) + 5]]));
    expect(groupAlive(pid)).toBe(true);
    const exited = once(child, 'exit');
    endGroups([pid], 10, new Map([[pid, startTimeOf(pid) as number]]));
    expect(await exited).toStrictEqual([null, 'SIGTERM']);
  });
});
