// The tally of repeated refusals, on the real clock with a short interval: the first of
// a key is written at once, the rest counted and summarised, with a bound on keys.
import { describe, expect, it } from 'vitest';
import { RefusalTally } from '../../../src/server/refusal-tally.js';
import { waitUntil } from '../../helpers/raw-client.js';

describe('refusal tally', () => {
  it('writes the first refusal of a key, and summarises the rest when the interval ends', async () => {
    const summaries: Array<[string, number]> = [];
    const tally = new RefusalTally({ intervalMs: 50, maxKeys: 100 }, (count) => summaries.push(['overflow', count]));
    const write = (key: string): boolean => tally.count(key, (count) => summaries.push([key, count]));
    expect(write('a')).toBe(true);
    expect(write('a')).toBe(false);
    expect(write('a')).toBe(false);
    expect(write('b')).toBe(true);
    await waitUntil(() => summaries.length > 0, 'the summary');
    // 'b' had nothing counted: no summary line for it.
    expect(summaries).toEqual([['a', 2]]);
    expect(tally.size).toBe(0);
    // A new interval: the first is written again.
    expect(write('a')).toBe(true);
    tally.close();
  });

  it('writes a budget of refusals in full before counting', () => {
    const summaries: number[] = [];
    const tally = new RefusalTally({ intervalMs: 60_000, maxKeys: 100 }, () => {});
    const results = Array.from({ length: 5 }, () => tally.count('k', (count) => summaries.push(count), 3));
    expect(results).toEqual([true, true, true, false, false]);
    tally.close();
    expect(summaries).toEqual([2]);
  });

  it('counts refusals beyond maxKeys into one overflow summary', () => {
    const overflow: number[] = [];
    const tally = new RefusalTally({ intervalMs: 60_000, maxKeys: 2 }, (count) => overflow.push(count));
    expect(tally.count('a', () => {})).toBe(true);
    expect(tally.count('b', () => {})).toBe(true);
    for (let i = 0; i < 1000; i += 1) expect(tally.count(`other${i}`, () => {})).toBe(false);
    expect(tally.size).toBe(2);
    tally.flush();
    expect(overflow).toEqual([1000]);
    tally.close();
  });

  it('after close, refusals are written in full and nothing is pending', () => {
    const summaries: number[] = [];
    const tally = new RefusalTally({ intervalMs: 60_000, maxKeys: 10 }, () => {});
    tally.count('a', (count) => summaries.push(count));
    tally.count('a', (count) => summaries.push(count));
    tally.close();
    expect(summaries).toEqual([1]);
    expect(tally.count('a', () => {})).toBe(true);
  });
});
