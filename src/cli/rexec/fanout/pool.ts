// At most `limit` tasks at once, started in order; one that takes long (an unreachable
// host waiting out its connect timeout) holds only its own slot.

/**
 * Runs `work` for every item, at most `limit` at a time, and resolves with the results in
 * the items' order. Once `stopped()` is true no new item starts: `skip` gives its result.
 */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
  stopped: () => boolean,
  skip: (item: T) => R,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      results[index] = stopped() ? skip(item) : await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
