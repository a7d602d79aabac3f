import { describe, expect, it } from 'vitest';
import { RequestIds } from '../../../src/client/request-ids.js';
import { MAX_ID } from '../../../src/protocol/constants.js';

describe('RequestIds', () => {
  it('counts up from 1', () => {
    const ids = new RequestIds();
    const inUse = new Map<number, unknown>();
    expect([ids.next(inUse), ids.next(inUse), ids.next(inUse)]).toEqual([1, 2, 3]);
  });

  it('starts over at 1 after 2^31-1, skipping ids still running', () => {
    const ids = new RequestIds(MAX_ID - 1);
    const inUse = new Map<number, unknown>([
      [1, null],
      [2, null],
    ]);
    expect([ids.next(inUse), ids.next(inUse), ids.next(inUse)]).toEqual([MAX_ID - 1, MAX_ID, 3]);
  });

  it('never hands out a running id', () => {
    const ids = new RequestIds(1, 5);
    const inUse = new Map<number, unknown>();
    for (let round = 0; round < 4; round += 1) inUse.set(ids.next(inUse), null);
    expect([...inUse.keys()]).toEqual([1, 2, 3, 4]);
    inUse.delete(2);
    expect(ids.next(inUse)).toBe(5);
    expect(ids.next(inUse)).toBe(2);
  });
});
