// The lockout arithmetic (an injected clock, for the arithmetic only): per (address,
// user) failures, the coarser per-address count, the names it spares, and its bounds.
import { describe, expect, it } from 'vitest';
import { AuthGuard } from '../../../src/server/auth-guard.js';

function guard(maxFailures = 3, maxAddressFailures = 10): { guard: AuthGuard; advance: (ms: number) => void } {
  let now = 1_000_000;
  return {
    guard: new AuthGuard({ maxFailures, windowMs: 60_000, maxAddressFailures }, () => now),
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('auth guard', () => {
  it('locks out one name at one address, and nobody else', () => {
    const { guard: g, advance } = guard();
    expect([g.failed('A', 'alice'), g.failed('A', 'alice')]).toEqual([250, 500]);
    expect(g.lockedOut('A', 'alice')).toBeUndefined();
    g.failed('A', 'alice');
    expect(g.lockedOut('A', 'alice')).toEqual({ scope: 'user', ms: 60_000 });
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    expect(g.lockedOut('B', 'alice')).toBeUndefined();
    advance(60_000);
    expect(g.lockedOut('A', 'alice')).toBeUndefined();
  });

  it('locks out an address that sprays names, except names that logged in from it', () => {
    const { guard: g } = guard(3, 10);
    g.succeeded('A', 'bob');
    for (let i = 0; i < 10; i += 1) g.failed('A', `name${i}`);
    expect(g.lockedOut('A', 'carol')).toMatchObject({ scope: 'address' });
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    expect(g.lockedOut('B', 'carol')).toBeUndefined();
  });

  it('a success clears the failures of that name only', () => {
    const { guard: g } = guard();
    g.failed('A', 'alice');
    g.failed('A', 'alice');
    g.succeeded('A', 'alice');
    expect(g.failed('A', 'alice')).toBe(250);
  });

  it('stays bounded with many long names', () => {
    const { guard: g } = guard(3, 1_000_000);
    const long = 'x'.repeat(65_000);
    for (let i = 0; i < 12_000; i += 1) g.failed('A', `${i}${long}`);
    // The oldest names were forgotten, the newest are still counted.
    expect(g.failed('A', `11999${long}`)).toBe(500);
    expect(g.failed('A', `0${long}`)).toBe(250);
  });
});
