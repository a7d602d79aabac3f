// /proc/PID/stat and /proc/uptime as the ledger reads them: on real processes, and on a
// directory laid out like /proc for what a live system cannot be made to show.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processStat, startTimeOf, uptimeTicks } from '../../../src/server/proc-stat.js';

const fake = mkdtempSync(join(tmpdir(), 'rexec-proc-'));
afterAll(() => rmSync(fake, { recursive: true, force: true }));

function fakeStat(pid: number, text: string): void {
  mkdirSync(join(fake, String(pid)), { recursive: true });
  writeFileSync(join(fake, String(pid), 'stat'), text);
}

// A stat line: pid (comm) state ppid pgrp session ... with the start time as field 22.
function line(pid: number, comm: string, state: string, pgrp: number, session: number, started: string): string {
  const rest = Array.from({ length: 15 }, (_, i) => String(i + 100));
  return `${pid} (${comm}) ${state} 1 ${pgrp} ${session} ${rest.join(' ')} ${started} 999 0\n`;
}

describe('processStat', () => {
  it('reads group, session and start time of a real process', () => {
    const child = spawn('/bin/sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      const info = processStat(pid);
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ');
      expect(info).toStrictEqual({ pgrp: pid, session: pid, started: Number(fields[21]) });
      const own = processStat(process.pid);
      expect(own?.pgrp).toBe(Number(readFileSync('/proc/self/stat', 'utf8').split(' ')[4]));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('counts fields from the last parenthesis: a name may hold spaces and parentheses', () => {
    fakeStat(50, line(50, 'a) b (c) 7 8 9', 'S', 44, 43, '12345'));
    expect(processStat(50, fake)).toStrictEqual({ pgrp: 44, session: 43, started: 12345 });
  });

  it('is undefined for a zombie, a dead task, a missing process and a start time that is no number', () => {
    fakeStat(51, line(51, 'z', 'Z', 51, 51, '5'));
    fakeStat(52, line(52, 'x', 'X', 52, 52, '5'));
    fakeStat(53, line(53, 'n', 'S', 53, 53, 'abc'));
    fakeStat(54, line(54, 'n', 'S', 53, 53, '18014398509481985'));
    for (const pid of [51, 52, 53, 54, 55]) expect(processStat(pid, fake), String(pid)).toBeUndefined();
    fakeStat(56, line(56, 'r', 'R', 53, 53, '0'));
    expect(processStat(56, fake)).toStrictEqual({ pgrp: 53, session: 53, started: 0 });
  });
});

describe('startTimeOf', () => {
  it("reads a zombie's start time too (its number is not free yet), undefined when gone or unreadable", () => {
    fakeStat(61, line(61, 'z', 'Z', 61, 61, '777'));
    fakeStat(62, line(62, 'a) b', 'S', 1, 1, '888'));
    fakeStat(63, line(63, 'n', 'S', 1, 1, 'x'));
    expect(startTimeOf(61, fake)).toBe(777);
    expect(startTimeOf(62, fake)).toBe(888);
    expect(startTimeOf(63, fake)).toBeUndefined();
    expect(startTimeOf(64, fake)).toBeUndefined();
    expect(startTimeOf(process.pid)).toBe(processStat(process.pid)?.started);
  });
});

describe('uptimeTicks', () => {
  it('is /proc/uptime in hundredths of a second, rounded up', () => {
    writeFileSync(join(fake, 'uptime'), '3600.251 7000.00\n');
    expect(uptimeTicks(fake)).toBe(360026);
    writeFileSync(join(fake, 'uptime'), '12.50 1.00\n');
    expect(uptimeTicks(fake)).toBe(1250);
  });

  it('is no earlier than the start time of a process started before it', () => {
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      const started = processStat(child.pid as number)?.started as number;
      expect(uptimeTicks()).toBeGreaterThanOrEqual(started);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
