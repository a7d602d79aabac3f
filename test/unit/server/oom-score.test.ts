import { describe, expect, it } from 'vitest';
import { COMMAND_OOM_SCORE_ADJ, commandOomScoreAdj, DAEMON_OOM_SCORE_ADJ } from '../../../src/server/oom-score.js';

describe('commandOomScoreAdj', () => {
  it('leaves commands alone when rexecd is not root (it could not pin a score)', () => {
    expect(commandOomScoreAdj({ root: false, own: 0, preamble: true })).toBeUndefined();
    expect(commandOomScoreAdj({ root: false, own: -900, preamble: false })).toBeUndefined();
  });

  it('raises every command of a root rexecd that lowered itself: a child must never keep a lowered score', () => {
    expect(commandOomScoreAdj({ root: true, own: DAEMON_OOM_SCORE_ADJ, preamble: false })).toBe(COMMAND_OOM_SCORE_ADJ);
    expect(commandOomScoreAdj({ root: true, own: -1, preamble: false })).toBe(500);
  });

  it('raises when the launch has a root preamble anyway (cgroups), whatever rexecd\'s own score', () => {
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
