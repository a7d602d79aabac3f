// Finding the members of groups whose leader has exited: which processes count (and which
// never may: a leader, another session, a process started after the reap), the limit per
// group, and MemberScan's gathered, paced, sliced looks. On a directory laid out like
// /proc (what a live system cannot be made to show), and once on the real one.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  collectMembers,
  MAX_MEMBERS,
  MAX_WAITING,
  MemberScan,
  processIds,
  SCAN_INTERVAL_MS,
  SLICE,
} from '../../../src/server/group-members.js';
import type { GroupMember } from '../../../src/server/group-members.js';
import { uptimeTicks } from '../../../src/server/proc-stat.js';
import { waitUntil } from '../../helpers/raw-client.js';

const base = mkdtempSync(join(tmpdir(), 'rexec-members-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let dirs = 0;

/** A fake /proc: each process as [pid, pgrp, session, started]. */
function fakeProc(processes: ReadonlyArray<readonly [number, number, number, number]>, extra: string[] = []): string {
  const dir = join(base, `p${(dirs += 1)}`);
  mkdirSync(dir);
  for (const [pid, pgrp, session, started] of processes) {
    mkdirSync(join(dir, String(pid)));
    const middle = Array.from({ length: 15 }, () => '0').join(' ');
    writeFileSync(join(dir, String(pid), 'stat'), `${pid} (x) S 1 ${pgrp} ${session} ${middle} ${started} 0 0\n`);
  }
  for (const name of extra) mkdirSync(join(dir, name));
  return dir;
}

function collect(dir: string, wanted: Array<[number, number]>): Map<number, GroupMember[]> {
  const found = new Map<number, GroupMember[]>();
  collectMembers(processIds(dir), new Map(wanted), found, dir);
  return found;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
});

describe('processIds', () => {
  it('lists the numeric entries of /proc, in order, and nothing else', () => {
    const dir = fakeProc(
      [
        [30, 30, 30, 1],
        [4, 4, 4, 1],
        [1000, 4, 4, 1],
      ],
      ['self', '0', '012', 'x1', '7a', 'thread-self'],
    );
    expect(processIds(dir)).toStrictEqual([4, 30, 1000]);
    expect(processIds()).toContain(process.pid);
  });
});

describe('collectMembers', () => {
  it('takes processes of a wanted group and its session, started no later than the reap', () => {
    const dir = fakeProc([
      [11, 10, 10, 100],
      [12, 10, 10, 200],
      // Started after the reap: the number may have been reused since.
      [13, 10, 10, 201],
      // In the group but another session: not one rexecd started.
      [14, 10, 9, 50],
      // The leader of a group of that number: a reused number.
      [10, 10, 10, 50],
      // Another group, not wanted.
      [21, 20, 20, 50],
    ]);
    expect(collect(dir, [[10, 200]])).toStrictEqual(
      new Map([
        [
          10,
          [
            { pgid: 10, pid: 11, started: 100 },
            { pgid: 10, pid: 12, started: 200 },
          ],
        ],
      ]),
    );
    expect(collect(dir, [[20, 50]])).toStrictEqual(new Map([[20, [{ pgid: 20, pid: 21, started: 50 }]]]));
  });

  it(`keeps at most ${MAX_MEMBERS} per group, and adds to what was found before`, () => {
    const dir = fakeProc(Array.from({ length: 15 }, (_, i) => [31 + i, 30, 30, 1] as const));
    const found = new Map<number, GroupMember[]>([[30, [{ pgid: 30, pid: 99, started: 1 }]]]);
    collectMembers([...processIds(dir), 46], new Map([[30, 5]]), found, dir);
    expect(found.get(30)?.map((m) => m.pid)).toStrictEqual([99, 31, 32, 33, 34, 35, 36, 37]);
  });

  it('finds the real members of a real group, not its leader', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 20 & sleep 20 & wait'], { detached: true, stdio: 'ignore' });
    children.push(child);
    const pgid = child.pid as number;
    const find = (reaped: number): GroupMember[] => {
      const found = new Map<number, GroupMember[]>();
      collectMembers(processIds(), new Map([[pgid, reaped]]), found);
      return found.get(pgid) ?? [];
    };
    const members = await waitUntil(() => find(uptimeTicks()).length === 2 && find(uptimeTicks()), 'two members');
    expect(members.map((m) => m.pid)).not.toContain(pgid);
    expect(find(Math.min(...members.map((m) => m.started)) - 1)).toStrictEqual([]);
  });
});

describe('MemberScan', () => {
  it(`looks once for all the groups added meanwhile, reading ${SLICE} entries per turn by default`, async () => {
    // Members past the first slices: the look must go through every slice.
    const processes: Array<readonly [number, number, number, number]> = [];
    for (let pid = 2; pid < 700; pid += 1) processes.push([pid, pid, pid, 1]);
    processes.push([900, 800, 800, 1], [901, 800, 800, 1], [950, 940, 940, 1]);
    const dir = fakeProc(processes);
    const reports: GroupMember[][] = [];
    const scan = new MemberScan((members) => reports.push(members), { procDir: dir, intervalMs: 0 });
    scan.add(800, 5);
    scan.add(940, 5);
    scan.add(3, 5);
    await waitUntil(() => reports.length === 1, 'a report');
    expect(scan.looks).toBe(1);
    expect(reports[0]).toStrictEqual([
      { pgid: 800, pid: 900, started: 1 },
      { pgid: 800, pid: 901, started: 1 },
      { pgid: 940, pid: 950, started: 1 },
    ]);
    const sliced = new MemberScan((members) => reports.push(members), { procDir: dir, intervalMs: 0, slice: 7 });
    sliced.add(940, 5);
    await waitUntil(() => reports.length === 2, 'a report from small slices');
    expect(reports[1]).toStrictEqual([{ pgid: 940, pid: 950, started: 1 }]);
  });

  it(`waits the interval between looks (${SCAN_INTERVAL_MS} ms by default), then looks again for what was added`, async () => {
    const dir = fakeProc([
      [11, 10, 10, 1],
      [21, 20, 20, 1],
    ]);
    const reports: GroupMember[][] = [];
    const scan = new MemberScan((members) => reports.push(members), { procDir: dir, intervalMs: 300 });
    scan.add(10, 5);
    await waitUntil(() => reports.length === 1, 'the first report');
    const first = performance.now();
    // A flood of exits during the interval: one more look, not one each.
    for (let i = 0; i < 50; i += 1) scan.add(20, 5);
    await waitUntil(() => reports.length === 2, 'the second report');
    expect(performance.now() - first).toBeGreaterThanOrEqual(250);
    expect(scan.looks).toBe(2);
    expect(reports[1]).toStrictEqual([{ pgid: 20, pid: 21, started: 1 }]);
    // Nothing waits: no look without a group (a report would follow one with members).
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(scan.looks).toBe(2);
    scan.stop();
    const defaults = new MemberScan(() => undefined, { procDir: dir });
    defaults.add(10, 5);
    await waitUntil(() => defaults.looks === 1, 'the first look, at once');
    defaults.add(20, 5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(defaults.looks).toBe(1);
    defaults.stop();
  });

  it(`keeps at most ${MAX_WAITING} groups waiting; a group without members is not reported`, async () => {
    const dir = fakeProc([
      [11, 10, 10, 1],
      [21, 20, 20, 1],
      [31, 30, 30, 1],
    ]);
    const reports: GroupMember[][] = [];
    const scan = new MemberScan((members) => reports.push(members), { procDir: dir, intervalMs: 0 });
    scan.add(10, 5);
    for (let i = 1; i < MAX_WAITING; i += 1) scan.add(100_000 + i, 5);
    scan.add(20, 5);
    // Already waiting: an update, not a new entry.
    scan.add(10, 5);
    await waitUntil(() => reports.length === 1, 'a report');
    expect(reports[0]?.map((m) => m.pgid)).toStrictEqual([10]);
    scan.add(30, 5);
    await waitUntil(() => reports.length === 2, 'the list has room again');
    expect(reports[1]?.map((m) => m.pgid)).toStrictEqual([30]);
    scan.stop();
  });

  it('once stopped, neither looks nor reports, also in the middle of a look', async () => {
    const processes: Array<readonly [number, number, number, number]> = [];
    for (let pid = 2; pid < 400; pid += 1) processes.push([pid, 1, 1, 1]);
    processes.push([500, 499, 499, 1]);
    const dir = fakeProc(processes);
    const reports: GroupMember[][] = [];
    const scan = new MemberScan((members) => reports.push(members), { procDir: dir, intervalMs: 0, slice: 10 });
    scan.add(499, 5);
    await waitUntil(() => scan.looks === 1, 'the look to begin');
    scan.stop();
    scan.add(499, 5);
    const other = new MemberScan((members) => reports.push(members), { procDir: dir, intervalMs: 0 });
    other.add(499, 5);
    await waitUntil(() => reports.length === 1, "the other scan's report");
    expect(scan.looks).toBe(1);
    other.stop();
    other.add(499, 5);
    expect(reports).toHaveLength(1);
  });
});
