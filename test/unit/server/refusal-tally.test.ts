// The tally of repeated refusals, on the real clock with a short interval: the first of
// a key is written at once, the rest counted and summarised, with a bound on keys.
import { describe, expect, it } from 'vitest';
import { DEFAULT_REFUSAL_TALLY, RefusalTally } from '../../../src/server/refusal-tally.js';
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
    expect(tally.count('a', () => {})).toBe(true);
    expect(tally.size).toBe(0);
  });

  it('defaults to summaries every 10 s and 10,000 keys (SECURITY.md)', () => {
    expect(DEFAULT_REFUSAL_TALLY).toStrictEqual({ intervalMs: 10_000, maxKeys: 10_000 });
  });

  it('never keeps the process alive', () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    const tally = new RefusalTally({ intervalMs: 60_000, maxKeys: 10 }, () => {});
    tally.count('a', () => {});
    tally.count('b', () => {});
    expect(timers()).toBe(before);
    tally.close();
  });

  // Timers of one process fire in the order they are due, however late the loop runs:
  // a reference timer due just before the interval's end tells an early summary apart.
  it('an interval that was flushed by hand leaves no timer behind to cut the next one short', async () => {
    const intervalMs = 400;
    const summaries: string[] = [];
    const tally = new RefusalTally({ intervalMs, maxKeys: 10 }, () => {});
    const write = (key: string): boolean => tally.count(key, (count) => summaries.push(`${key}:${count}`));
    // Two keys in the first interval (one timer for both), then a flush by hand.
    write('a');
    write('b');
    tally.flush();
    // Half an interval later, the next interval starts: its summary is due a whole interval on.
    await new Promise((resolve) => setTimeout(resolve, intervalMs / 2));
    write('c');
    write('c');
    const early = await new Promise<string[]>((resolve) => setTimeout(() => resolve([...summaries]), intervalMs * 0.9));
    expect(early).toStrictEqual([]);
    await waitUntil(() => summaries.length > 0, 'the summary of c');
    expect(summaries).toStrictEqual(['c:1']);
    tally.close();
  });
});
