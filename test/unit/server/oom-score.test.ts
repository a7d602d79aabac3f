import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  COMMAND_OOM_SCORE_ADJ,
  commandOomScoreAdj,
  DAEMON_OOM_SCORE_ADJ,
  ownOomScoreAdj,
  protectFromOomKiller,
} from '../../../src/server/oom-score.js';

describe('commandOomScoreAdj', () => {
  it('leaves commands alone when rexecd is not root (it could not pin a score)', () => {
    expect(commandOomScoreAdj({ root: false, own: 0, preamble: true })).toBeUndefined();
    expect(commandOomScoreAdj({ root: false, own: -900, preamble: false })).toBeUndefined();
  });

  it('raises every command of a root rexecd that lowered itself: a child must never keep a lowered score', () => {
    expect(commandOomScoreAdj({ root: true, own: DAEMON_OOM_SCORE_ADJ, preamble: false })).toBe(COMMAND_OOM_SCORE_ADJ);
    expect(commandOomScoreAdj({ root: true, own: -1, preamble: false })).toBe(500);
  });

  it("raises when the launch has a root preamble anyway (cgroups), whatever rexecd's own score", () => {
    expect(commandOomScoreAdj({ root: true, own: 0, preamble: true })).toBe(500);
    expect(commandOomScoreAdj({ root: true, own: -900, preamble: true })).toBe(500);
  });

  it('adds no preamble just for the score when rexecd was not lowered (the plain launch stays as it is)', () => {
    expect(commandOomScoreAdj({ root: true, own: 0, preamble: false })).toBeUndefined();
    expect(commandOomScoreAdj({ root: true, own: 300, preamble: false })).toBeUndefined();
  });

  it('never puts a command below rexecd', () => {
    expect(commandOomScoreAdj({ root: true, own: 800, preamble: true })).toBe(800);
  });
});

describe("this process's own score", () => {
  const dir = mkdtempSync(join(tmpdir(), 'rexec-oom-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('is read from the kernel', () => {
    // Raising one's own score needs no privilege (and leaves this test worker first in line, which is harmless).
    const raised = Math.max(Number(readFileSync('/proc/self/oom_score_adj', 'utf8')), 321);
    writeFileSync('/proc/self/oom_score_adj', String(raised));
    expect(ownOomScoreAdj()).toBe(raised);
  });

  it('is 0 when it cannot be read or is not a whole number', () => {
    expect(ownOomScoreAdj(file('negative', '-900\n'))).toBe(-900);
    expect(ownOomScoreAdj(file('garbage', 'high\n'))).toBe(0);
    expect(ownOomScoreAdj(file('fraction', '1.5\n'))).toBe(0);
    expect(ownOomScoreAdj(join(dir, 'missing'))).toBe(0);
  });

  it('is lowered to DAEMON_OOM_SCORE_ADJ, or says why not', () => {
    const target = file('score', '0\n');
    expect(protectFromOomKiller(target)).toStrictEqual({ adjusted: true });
    expect(readFileSync(target, 'utf8')).toBe(String(DAEMON_OOM_SCORE_ADJ));
    const refused = protectFromOomKiller(join(dir, 'no-such-dir', 'score'));
    expect(refused).toMatchObject({ adjusted: false, reason: expect.stringMatching(/^ENOENT/) });
  });

  it("is lowered in the kernel only with CAP_SYS_RESOURCE; without it the kernel's refusal is the reason", () => {
    const before = ownOomScoreAdj();
    const result = protectFromOomKiller();
    if (result.adjusted) {
      expect(ownOomScoreAdj()).toBe(DAEMON_OOM_SCORE_ADJ);
    } else {
      expect(result.reason).toMatch(/^(EACCES|EPERM)/);
      expect(ownOomScoreAdj()).toBe(before);
    }
  });
});
