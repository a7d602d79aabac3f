// The shared deadline timer: fires each entry once, in time, never when cancelled, and
// re-arms for later entries after earlier ones are gone.
import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { Deadlines } from '../../../src/server/deadlines.js';

function waitFor(check: () => boolean, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (check()) resolve();
      else if (Date.now() > end) reject(new Error('condition not met in time'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('Deadlines', () => {
  it('runs entries no earlier than their deadlines, each once, and skips cancelled ones', async () => {
    const deadlines = new Deadlines();
    const fired: Array<{ name: string; late: number }> = [];
    const start = performance.now();
    const at = (name: string, ms: number): void => {
      deadlines.schedule(ms, () => fired.push({ name, late: performance.now() - start - ms }));
    };
    at('late', 120);
    at('early', 30);
    const cancelled = deadlines.schedule(60, () => fired.push({ name: 'cancelled', late: 0 }));
    deadlines.cancel(cancelled);
    await waitFor(() => fired.length === 2 && deadlines.size === 0);
    expect(fired.map((f) => f.name)).toEqual(['early', 'late']);
    for (const f of fired) expect(f.late).toBeGreaterThanOrEqual(-1);
  });

  it('re-arms when a new entry is earlier than the armed one, and after the set empties', async () => {
    const deadlines = new Deadlines();
    const fired: string[] = [];
    const long = deadlines.schedule(60_000, () => fired.push('long'));
    deadlines.schedule(20, () => fired.push('short'));
    await waitFor(() => fired.includes('short'));
    deadlines.cancel(long);
    expect(deadlines.size).toBe(0);
    deadlines.schedule(10, () => fired.push('again'));
    await waitFor(() => fired.includes('again'));
    expect(fired).toEqual(['short', 'again']);
  });
});
