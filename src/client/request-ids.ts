// Request ids of one connection (docs/protocol.md section 4): 1, 2, 3, ... up to 2^31-1, then
// from 1 again, skipping the ids of requests still running.
import { MAX_ID } from '../protocol/constants.js';

/** Hands out ids that are unique among the ones `inUse` still holds. */
export class RequestIds {
  #next: number;
  readonly #max: number;

  /** `start` and `max` exist for tests of the wrap-around. */
  constructor(start = 1, max = MAX_ID) {
    this.#next = start;
    this.#max = max;
  }

  /** The next id not in use. The caller keeps fewer than `max` requests running. */
  next(inUse: { has(id: number): boolean }): number {
    for (;;) {
      const id = this.#next;
      this.#next = id >= this.#max ? 1 : id + 1;
      if (!inUse.has(id)) return id;
    }
  }
}
