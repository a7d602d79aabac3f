// The ledger of process groups, on real files and real processes: what a line must be,
// which groups a restarted rexecd may signal (only a leader alive with the start time
// recorded, or a recorded member still in the group), and that the ledger is the user's own
// and closed to others.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  endLeftGroups,
  GroupLedger,
  isAlive,
  ledgerLine,
  parseLedger,
  startTime,
} from '../../../src/server/group-ledger.js';
import { collectMembers, processIds } from '../../../src/server/group-members.js';
import { uptimeTicks } from '../../../src/server/proc-stat.js';
import { NS_LAST_PID, strangerWithPid } from '../../helpers/processes.js';
import { waitUntil } from '../../helpers/raw-client.js';

// The processes of group `pgid` but its leader, as the ledger's look through /proc finds them.
function membersOf(pgid: number): Array<{ pgid: number; started: number; member: number }> {
  const found = new Map<number, Array<{ pgid: number; pid: number; started: number }>>();
  collectMembers(processIds(), new Map([[pgid, uptimeTicks()]]), found);
  return (found.get(pgid) ?? []).map(({ pid, started }) => ({ pgid, started, member: pid }));
}

const IS_ROOT = process.getuid?.() === 0;
const base = mkdtempSync(join(tmpdir(), 'rexec-ledger-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(base, `d${(dirs += 1)}`);

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    // The whole group: members of a group whose leader was killed live on otherwise.
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // Not a group leader (or gone already): the process itself.
      child.kill('SIGKILL');
    }
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
});

// A process leading a group of its own (its pid is the group id), as rexecd starts commands.
function leader(argv: readonly string[] = ['/bin/sleep', '60']): ChildProcess {
  const child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: 'ignore' });
  children.push(child);
  return child;
}

const exitOf = (child: ChildProcess): Promise<[number | null, NodeJS.Signals | null]> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve([child.exitCode, child.signalCode])
    : (once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>);

describe('parseLedger', () => {
  it('takes lines of two numbers, a group above 1 and a start time', () => {
    expect(parseLedger('1234 5678\n99 0\n')).toStrictEqual([
      { pgid: 1234, started: 5678 },
      { pgid: 99, started: 0 },
    ]);
  });

  it('skips everything else: groups 0 and 1, signs, spaces, other text, numbers too long or unsafe', () => {
    const lines = [
      '0 5',
      '1 5',
      '-5 5',
      '5 -5',
      ' 5 5',
      '5 5 ',
      '5  5',
      '5\t5',
      '5',
      'x 5',
      '5 x',
      '12345678901 5',
      '5 123456789012345678901',
      // Past 2^53: not a start time that can be compared exactly.
      '5 18014398509481985',
      '',
      '7 7',
    ];
    expect(parseLedger(lines.join('\n'))).toStrictEqual([{ pgid: 7, started: 7 }]);
  });

  it('takes the longest numbers that fit', () => {
    expect(parseLedger('1234567890 9007199254740991\n2 00000000000000000042')).toStrictEqual([
      { pgid: 1234567890, started: 9007199254740991 },
      { pgid: 2, started: 42 },
    ]);
  });
});

describe('member lines (a group whose leader has exited)', () => {
  it('takes a third number, a process above 1, and writes the lines it reads', () => {
    const entries = parseLedger('300 42 301\n300 43 1\n300 44 0\n300 45 12345678901\n300 46 302 7\n5 6\n');
    expect(entries).toStrictEqual([
      { pgid: 300, started: 42, member: 301 },
      { pgid: 5, started: 6 },
    ]);
    expect(entries.map(ledgerLine).join('')).toBe('300 42 301\n5 6\n');
    expect(parseLedger('1 42 301\n2 42 1234567890\n')).toStrictEqual([{ pgid: 2, started: 42, member: 1234567890 }]);
  });

  it('isAlive by a member: alive, same start time, and still in the group', async () => {
    const group = leader(['/bin/sh', '-c', 'sleep 20 & wait']);
    const pgid = group.pid as number;
    await waitUntil(() => membersOf(pgid).length === 1, 'the member');
    const [entry] = membersOf(pgid) as [{ pgid: number; started: number; member: number }];
    expect(isAlive(entry)).toBe(true);
    expect(isAlive({ ...entry, started: entry.started + 1 })).toBe(false);
    // The member's pid and start time, but another group: not this group's member.
    expect(isAlive({ ...entry, pgid: pgid + 100_000 })).toBe(false);
    // A leader entry is alive only while that process leads its group: the member leads none.
    expect(isAlive({ pgid: entry.member, started: entry.started })).toBe(false);
    process.kill(-pgid, 'SIGKILL');
  });

  it('a look still under way when the ledger closes writes nothing (its file is gone)', async () => {
    const path = join(freshDir(), 'groups');
    const { ledger } = GroupLedger.open(path);
    const group = leader(['/bin/sh', '-c', 'sleep 20 & wait']);
    const pgid = group.pid as number;
    await waitUntil(() => membersOf(pgid).length === 1, 'the member');
    ledger.recordMembers(pgid);
    ledger.close();
    // A write to the closed descriptor would throw in a timer: an uncaught error fails the run.
    const otherPath = join(freshDir(), 'groups');
    const other = GroupLedger.open(otherPath);
    other.ledger.recordMembers(pgid);
    await waitUntil(() => readFileSync(otherPath, 'utf8') !== '', 'a look of another ledger');
    // The other ledger may have the closed one's descriptor number: only its own line is in it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readFileSync(otherPath, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    expect(existsSync(path)).toBe(false);
    other.ledger.close();
  });

  it('GroupLedger.recordMembers writes them (a group without members writes nothing); the next server ends the group by them', async () => {
    const path = join(freshDir(), 'groups');
    const { ledger } = GroupLedger.open(path);
    const group = leader(['/bin/sh', '-c', 'sleep 20 & sleep 20 & wait']);
    const pgid = group.pid as number;
    await waitUntil(() => membersOf(pgid).length === 2, 'two members');
    ledger.recordMembers(pgid);
    ledger.recordMembers(leader().pid as number);
    // Written once the look through /proc is done (a slice per event-loop turn).
    const lines = await waitUntil(() => {
      const now = readFileSync(path, 'utf8').split('\n').filter(Boolean);
      return now.length > 0 && now;
    }, 'the members in the ledger');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(new RegExp(`^${pgid} \\d+ \\d+$`));
    // The leader goes; its members run on in the group.
    process.kill(pgid, 'SIGKILL');
    await exitOf(group);
    const { left, ledger: next } = GroupLedger.open(path);
    expect(left).toHaveLength(2);
    expect(endLeftGroups(left, 60_000)).toStrictEqual([pgid]);
    await waitUntil(() => membersOf(pgid).length === 0, 'the members to be ended');
    next.close();
    ledger.close();
  });
});

describe('startTime and isAlive', () => {
  it('read the start time of a process, also one whose name holds spaces and parentheses', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const odd = join(dir, 'a) b (c) 1 2');
    copyFileSync('/bin/sleep', odd);
    chmodSync(odd, 0o755);
    const before = leader();
    const tricky = leader([odd, '60']);
    const after = leader();
    await waitUntil(
      () => readFileSync(`/proc/${tricky.pid}/stat`, 'utf8').includes('(a) b (c) 1 2)'),
      'the odd name in /proc',
    );
    // A plain name: field 22 of the line split at its spaces.
    const plain = readFileSync(`/proc/${before.pid}/stat`, 'utf8').split(' ');
    expect(plain[1]).toBe('(sleep)');
    expect(startTime(before.pid as number)).toBe(Number(plain[21]));
    const times = [before, tricky, after].map((child) => startTime(child.pid as number));
    for (const time of times) expect(Number.isSafeInteger(time)).toBe(true);
    const [first, middle, last] = times as [number, number, number];
    expect(first).toBeLessThanOrEqual(middle);
    expect(middle).toBeLessThanOrEqual(last);
    expect(first).toBeGreaterThanOrEqual(startTime(process.pid) as number);
  });

  it('is undefined for a process that is gone, or a zombie', async () => {
    const gone = spawn('/bin/true');
    children.push(gone);
    await exitOf(gone);
    expect(startTime(gone.pid as number)).toBeUndefined();
    // `sleep 60` never waits for the child it inherited: that child stays a zombie.
    const parent = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 60'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(parent);
    const [chunk] = (await once(parent.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const zombie = Number(chunk.toString().trim());
    await waitUntil(() => / Z /.test(readFileSync(`/proc/${zombie}/stat`, 'utf8')), 'the zombie');
    expect(startTime(zombie)).toBeUndefined();
  });

  it('isAlive: the same pid with the same start time, not a pid that merely matches', () => {
    const child = leader();
    const pid = child.pid as number;
    const started = startTime(pid) as number;
    expect(isAlive({ pgid: pid, started })).toBe(true);
    expect(isAlive({ pgid: pid, started: started + 1 })).toBe(false);
    expect(isAlive({ pgid: pid, started: started - 1 })).toBe(false);
  });
});

describe('endLeftGroups', () => {
  it('signals only groups whose leader still runs with the start time recorded, each once', async () => {
    const recorded = leader();
    const reused = leader();
    const pgid = recorded.pid as number;
    const started = startTime(pgid) as number;
    const other = reused.pid as number;
    const ended = endLeftGroups(
      [
        { pgid, started },
        { pgid, started },
        // A pid that got its number again: another process, another start time.
        { pgid: other, started: (startTime(other) as number) + 1 },
      ],
      60_000,
    );
    expect(ended).toStrictEqual([pgid]);
    expect(await exitOf(recorded)).toStrictEqual([null, 'SIGTERM']);
    expect(reused.exitCode === null && reused.signalCode === null).toBe(true);
  });

  it('kills a group that ignores SIGTERM once the grace time is over', async () => {
    const stubborn = leader(['/bin/sh', '-c', 'trap "" TERM; while :; do sleep 1; done']);
    const pgid = stubborn.pid as number;
    // SIGTERM (15) is bit 14 of the mask of ignored signals.
    const ignoresTerm = (): boolean => {
      const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pgid}/status`, 'utf8'))?.[1] ?? '0';
      return (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
    };
    await waitUntil(ignoresTerm, 'the shell to ignore SIGTERM');
    expect(endLeftGroups([{ pgid, started: startTime(pgid) as number }], 50)).toStrictEqual([pgid]);
    expect(await exitOf(stubborn)).toStrictEqual([null, 'SIGKILL']);
  });

  it('ends a group recorded by its leader and a member both still running (the leader decides)', async () => {
    // The member is the shell's child, started in a later clock tick than the shell: the
    // group is signalled by its leader's start time, not by the member's.
    const group = spawn('/bin/sh', ['-c', 'read go; /bin/sleep 59 & wait'], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    children.push(group);
    const pgid = group.pid as number;
    const started = startTime(pgid) as number;
    await waitUntil(() => uptimeTicks() > started, 'the next clock tick');
    group.stdin?.end('go\n');
    const member = await waitUntil(() => membersOf(pgid)[0], 'the member');
    expect(member.started).toBeGreaterThan(started);
    expect(endLeftGroups([{ pgid, started }, member], 60_000)).toStrictEqual([pgid]);
    expect(await exitOf(group)).toStrictEqual([null, 'SIGTERM']);
    await waitUntil(() => membersOf(pgid).length === 0, 'the member to be ended');
  });

  // The SIGTERM may end a left group at once, and its number be taken before the SIGKILL
  // (a student forking until the pids wrap; handed out here through ns_last_pid). Timers
  // of one duration fire in the order they were set: a group deaf to SIGTERM, ended just
  // before, still living tells that the SIGKILL was not sent yet when the number was had;
  // one ended in the same call, after it, dying tells that it has been.
  it.runIf(IS_ROOT && existsSync(NS_LAST_PID))(
    'does not SIGKILL, after the grace period, a process that got the number of a group the SIGTERM ended',
    async () => {
      const graceMs = 4000;
      const group = async (deaf: boolean): Promise<{ pgid: number; started: number }> => {
        const child = leader(deaf ? ['/bin/sh', '-c', "trap '' TERM; exec /bin/sleep 58"] : ['/bin/sleep', '58']);
        const pgid = child.pid as number;
        await waitUntil(() => readFileSync(`/proc/${pgid}/cmdline`, 'utf8').startsWith('/bin/sleep'), 'the group');
        return { pgid, started: startTime(pgid) as number };
      };
      const before = await group(true);
      const victim = await group(false);
      const after = await group(true);
      const victimExit = exitOf(children[children.length - 2] as ChildProcess);
      expect(endLeftGroups([before], graceMs)).toStrictEqual([before.pgid]);
      expect(endLeftGroups([victim, after], graceMs)).toStrictEqual([victim.pgid, after.pgid]);
      await victimExit;
      const other = await strangerWithPid(victim.pgid, Date.now() + graceMs / 2);
      expect(other, `pid ${victim.pgid} could not be had`).toBeDefined();
      children.push(other as ChildProcess);
      expect(startTime(before.pgid), 'the number was had only after the grace period').toBe(before.started);
      await waitUntil(() => startTime(after.pgid) === undefined, 'the SIGKILL after the grace period', 30_000);
      expect(startTime(victim.pgid), 'the unrelated process was killed').toBeDefined();
      expect(readFileSync(`/proc/${victim.pgid}/cmdline`, 'utf8')).toBe('/bin/sleep\u000060\u0000');
    },
  );
});

describe('GroupLedger', () => {
  it('creates its directory (0700) and file (0600), records running groups, and gives them to the next server', async () => {
    const dir = join(freshDir(), 'state');
    const path = join(dir, 'groups');
    const { ledger, left } = GroupLedger.open(path);
    expect(left).toStrictEqual([]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const child = leader();
    const gone = spawn('/bin/true');
    children.push(gone);
    await exitOf(gone);
    ledger.record(child.pid as number);
    ledger.record(gone.pid as number);
    const started = startTime(child.pid as number);
    expect(readFileSync(path, 'utf8')).toBe(`${child.pid} ${started}\n`);
    // A server killed without closing: the next one finds the group, and starts a new ledger.
    const next = GroupLedger.open(path);
    expect(next.left).toStrictEqual([{ pgid: child.pid, started }]);
    expect(readFileSync(path, 'utf8')).toBe('');
    // A start time the caller has read already is written as it is (no second read).
    next.ledger.record(child.pid as number, 12345);
    expect(readFileSync(path, 'utf8')).toBe(`${child.pid} 12345\n`);
    next.ledger.close();
    ledger.close();
  });

  it('is removed when the server stops cleanly, and a ledger removed by hand is no error', () => {
    const path = join(freshDir(), 'groups');
    const descriptors = readdirSync('/proc/self/fd').length;
    const { ledger } = GroupLedger.open(path);
    ledger.close();
    expect(existsSync(path)).toBe(false);
    expect(readdirSync('/proc/self/fd').length).toBe(descriptors);
    const again = GroupLedger.open(path);
    rmSync(path);
    expect(() => again.ledger.close()).not.toThrow();
    expect(readdirSync('/proc/self/fd').length).toBe(descriptors);
    expect(GroupLedger.open(path).left).toStrictEqual([]);
  });

  it('keeps only the groups still running once 4096 entries were written', async () => {
    const path = join(freshDir(), 'groups');
    const { ledger } = GroupLedger.open(path);
    const running = leader();
    const ended = leader();
    ledger.record(ended.pid as number);
    ended.kill('SIGKILL');
    await exitOf(ended);
    for (let i = 1; i < 4095; i += 1) ledger.record(running.pid as number);
    // 4095 written: nothing compacted yet.
    expect(readFileSync(path, 'utf8')).toContain(`${ended.pid} `);
    ledger.record(running.pid as number);
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(4095);
    expect(new Set(lines)).toStrictEqual(new Set([`${running.pid} ${startTime(running.pid as number)}`]));
    ledger.close();
  });

  it('with more live groups than that, compacts only after as many writes as it kept (not on every write)', async () => {
    // Many live entries (a student's commands each leaving processes behind) once made
    // every later write re-read the whole ledger and /proc: rexecd 50x slower for all.
    const path = join(freshDir(), 'groups');
    const { ledger } = GroupLedger.open(path);
    const running = leader();
    const pid = running.pid as number;
    const lineCount = (): number => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
    for (let i = 0; i < 4096; i += 1) ledger.record(pid);
    for (let i = 0; i < 4096; i += 1) ledger.record(pid);
    // Two compactions, each keeping everything: 8192 live entries kept.
    expect(lineCount()).toBe(8192);
    const ended = leader();
    ledger.record(ended.pid as number);
    ended.kill('SIGKILL');
    await exitOf(ended);
    for (let i = 1; i < 8191; i += 1) ledger.record(pid);
    // 8191 written since: the next compaction waits for 8192.
    expect(lineCount()).toBe(8192 + 8191);
    expect(readFileSync(path, 'utf8')).toContain(`\n${ended.pid} `);
    ledger.record(pid);
    expect(lineCount()).toBe(8192 + 8191);
    expect(readFileSync(path, 'utf8')).not.toContain(`\n${ended.pid} `);
    ledger.close();
  });

  it('does not trust a ledger larger than 16 MiB', () => {
    for (const [size, trusted] of [
      [16 * 1024 * 1024, true],
      [16 * 1024 * 1024 + 1, false],
    ] as const) {
      const path = join(freshDir(), 'groups');
      mkdirSync(join(path, '..'), { mode: 0o700 });
      writeFileSync(path, '4242 77\n', { mode: 0o600 });
      truncateSync(path, size);
      const { ledger, left } = GroupLedger.open(path);
      expect(left, String(size)).toStrictEqual(trusted ? [{ pgid: 4242, started: 77 }] : []);
      ledger.close();
    }
  });

  describe.runIf(IS_ROOT)("refuses a ledger that is not the user's own and closed to others", () => {
    const refused = (path: string, what: RegExp): void => {
      const before = readdirSync('/proc/self/fd').length;
      expect(() => GroupLedger.open(path)).toThrow(what);
      // No descriptor left open by the refusal.
      expect(readdirSync('/proc/self/fd').length).toBe(before);
    };

    it('a directory open to others, or of another user, or a link', () => {
      const open = freshDir();
      mkdirSync(open, { mode: 0o700 });
      chmodSync(open, 0o777);
      refused(join(open, 'groups'), /the ledger's directory .* must belong to uid 0 and be closed to others/);
      chmodSync(open, 0o720);
      refused(join(open, 'groups'), /must belong to uid 0 and be closed to others/);
      const others = freshDir();
      mkdirSync(others, { mode: 0o700 });
      chownSync(others, 65534, 65534);
      refused(join(others, 'groups'), /must belong to uid 0/);
      const real = freshDir();
      mkdirSync(real, { mode: 0o700 });
      const link = freshDir();
      symlinkSync(real, link);
      refused(join(link, 'groups'), /the ledger's directory/);
    });

    it('a file open to others, of another user, a link or not a file', () => {
      const dir = freshDir();
      mkdirSync(dir, { mode: 0o700 });
      const path = join(dir, 'groups');
      writeFileSync(path, '', { mode: 0o600 });
      chmodSync(path, 0o622);
      refused(path, /is not a file of uid 0 closed to others/);
      chmodSync(path, 0o602);
      refused(path, /is not a file of uid 0 closed to others/);
      chmodSync(path, 0o600);
      chownSync(path, 65534, 65534);
      refused(path, /is not a file of uid 0 closed to others/);
      rmSync(path);
      const target = join(dir, 'target');
      writeFileSync(target, '4242 77\n', { mode: 0o600 });
      symlinkSync(target, path);
      refused(path, /ELOOP/);
      expect(readFileSync(target, 'utf8')).toBe('4242 77\n');
      rmSync(path);
      mkdirSync(path, { mode: 0o700 });
      refused(path, /EISDIR|is not a file/);
    });

    it('a file that is fine is taken as it is (group and others may read it)', () => {
      const dir = freshDir();
      mkdirSync(dir, { mode: 0o755 });
      const path = join(dir, 'groups');
      writeFileSync(path, '4242 77\n', { mode: 0o644 });
      const { ledger, left } = GroupLedger.open(path);
      expect(left).toStrictEqual([{ pgid: 4242, started: 77 }]);
      expect(lstatSync(path).isFile()).toBe(true);
      ledger.close();
    });
  });
});
