// The lockout arithmetic (an injected clock, for the arithmetic only): per (address,
// user) failures, the coarser per-address count, the names it spares, and its bounds.
import { describe, expect, it } from 'vitest';
import { AuthGuard, DEFAULT_AUTH_GUARD } from '../../../src/server/auth-guard.js';

const WINDOW = 60_000;
const DAY = 24 * 60 * 60 * 1000;
// As many entries of each kind as the guard keeps (SECURITY.md: 10,000 names and addresses).
const TRACKED = 10_000;

function guard(maxFailures = 3, maxAddressFailures = 10): { guard: AuthGuard; advance: (ms: number) => void } {
  let now = 1_000_000;
  return {
    guard: new AuthGuard({ maxFailures, windowMs: WINDOW, maxAddressFailures }, () => now),
    advance: (ms) => {
      now += ms;
    },
  };
}

// The count of failures the guard holds for a name at an address, read through the
// tarpit delay of one more failure (250 ms per failure): 0 when it forgot them.
function heldFailures(g: AuthGuard, address: string, user: string): number {
  return g.failed(address, user) / 250 - 1;
}

describe('auth guard: one user name at one address', () => {
  it('locks out one name at one address, and nobody else', () => {
    const { guard: g, advance } = guard();
    expect([g.failed('A', 'alice'), g.failed('A', 'alice')]).toEqual([250, 500]);
    expect(g.lockedOut('A', 'alice')).toBeUndefined();
    g.failed('A', 'alice');
    expect(g.lockedOut('A', 'alice')).toEqual({ scope: 'user', ms: 60_000 });
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    expect(g.lockedOut('B', 'alice')).toBeUndefined();
    advance(59_999);
    expect(g.lockedOut('A', 'alice')).toEqual({ scope: 'user', ms: 1 });
    advance(1);
    expect(g.lockedOut('A', 'alice')).toBeUndefined();
  });

  it('failures count for the window from the first: not before it ends, not after', () => {
    const { guard: g, advance } = guard(3, 100);
    g.failed('A', 'alice');
    g.failed('A', 'alice');
    advance(WINDOW - 1);
    g.failed('A', 'alice');
    expect(g.lockedOut('A', 'alice')).toMatchObject({ scope: 'user' });

    const { guard: h, advance: later } = guard(3, 100);
    h.failed('A', 'alice');
    h.failed('A', 'alice');
    later(WINDOW);
    // The first two have expired: this is the first of a new window.
    expect(h.failed('A', 'alice')).toBe(250);
    expect(h.lockedOut('A', 'alice')).toBeUndefined();
  });

  it('a success clears the failures of that name only', () => {
    const { guard: g } = guard();
    g.failed('A', 'alice');
    g.failed('A', 'alice');
    g.failed('A', 'bob');
    g.succeeded('A', 'alice');
    expect(g.failed('A', 'alice')).toBe(250);
    expect(g.failed('A', 'bob')).toBe(500);
  });

  it("one student's typos never lock out another name at the same address, until the per-address limit", () => {
    const { guard: g } = guard(5, 50);
    for (let i = 0; i < 5; i += 1) g.failed('A', 'alice');
    expect(g.lockedOut('A', 'alice')).toMatchObject({ scope: 'user' });
    // 5 of the address's 50: bob and carol at the same address are not held back.
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    for (let i = 0; i < 44; i += 1) g.failed('A', `guess${i}`);
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    g.failed('A', 'guess44');
    // The 50th failure from A, whatever the names.
    expect(g.lockedOut('A', 'bob')).toEqual({ scope: 'address', ms: WINDOW });
    expect(g.lockedOut('A', 'alice')).toMatchObject({ scope: 'user' });
    expect(g.lockedOut('B', 'bob')).toBeUndefined();
  });

  it('defaults: 5 failures of a name, 50 of an address, a minute', () => {
    expect(DEFAULT_AUTH_GUARD).toEqual({ maxFailures: 5, windowMs: 60_000, maxAddressFailures: 50 });
    let now = 0;
    const g = new AuthGuard({ maxFailures: 1000, windowMs: WINDOW }, () => now);
    for (let i = 0; i < 49; i += 1) g.failed('A', `guess${i}`);
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    g.failed('A', 'guess49');
    expect(g.lockedOut('A', 'bob')).toMatchObject({ scope: 'address' });
    now += WINDOW;
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
  });
});

describe('auth guard: the tarpit', () => {
  it('answers each failure of a name 250 ms later than the one before, up to 2 s', () => {
    const { guard: g } = guard(1000, 1000);
    const delays = Array.from({ length: 10 }, () => g.failed('A', 'alice'));
    expect(delays).toEqual([250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2000, 2000]);
    // Another name at the same address starts from the bottom.
    expect(g.failed('A', 'bob')).toBe(250);
  });
});

describe('auth guard: the per-address limit', () => {
  it('locks out an address that sprays names, except names that logged in from it', () => {
    const { guard: g } = guard(3, 10);
    g.succeeded('A', 'bob');
    for (let i = 0; i < 10; i += 1) g.failed('A', `name${i}`);
    expect(g.lockedOut('A', 'carol')).toMatchObject({ scope: 'address' });
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    expect(g.lockedOut('B', 'carol')).toBeUndefined();
    // Spared at A only: bob never logged in from B.
    for (let i = 0; i < 10; i += 1) g.failed('B', `name${i}`);
    expect(g.lockedOut('B', 'bob')).toMatchObject({ scope: 'address' });
  });

  it('ends when its time is up', () => {
    const { guard: g, advance } = guard(3, 10);
    for (let i = 0; i < 10; i += 1) g.failed('A', `name${i}`);
    advance(WINDOW - 1);
    expect(g.lockedOut('A', 'carol')).toEqual({ scope: 'address', ms: 1 });
    advance(1);
    expect(g.lockedOut('A', 'carol')).toBeUndefined();
  });

  it('a spared name that keeps failing keeps the address locked for the others', () => {
    const { guard: g, advance } = guard(3, 10);
    g.succeeded('A', 'bob');
    // Spread over most of a window, so that the lockout outlasts the window it counts.
    for (let i = 0; i < 9; i += 1) g.failed('A', `name${i}`);
    advance(50_000);
    g.failed('A', 'name9');
    expect(g.lockedOut('A', 'carol')).toEqual({ scope: 'address', ms: WINDOW });
    advance(20_000);
    // bob may still try (he is spared); his failure must not lift the lockout of A.
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    g.failed('A', 'bob');
    expect(g.lockedOut('A', 'carol')).toMatchObject({ scope: 'address' });
  });

  it('starts counting afresh once the lockout is over', () => {
    const { guard: g, advance } = guard(3, 10);
    g.succeeded('A', 'bob');
    for (let i = 0; i < 9; i += 1) g.failed('A', `name${i}`);
    advance(50_000);
    g.failed('A', 'name9');
    // The moment it ends, a failure of a spared name is the first of a new count.
    advance(WINDOW);
    g.failed('A', 'bob');
    expect(g.lockedOut('A', 'carol')).toBeUndefined();
  });

  it('spares a name for a day after it logged in, not for ever', () => {
    const { guard: g, advance } = guard(3, 10);
    g.succeeded('A', 'bob');
    advance(DAY - 1_000);
    for (let i = 0; i < 10; i += 1) g.failed('A', `name${i}`);
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    advance(999);
    expect(g.lockedOut('A', 'bob')).toBeUndefined();
    advance(1);
    // A day after the login, within the address's lockout.
    expect(g.lockedOut('A', 'bob')).toEqual({ scope: 'address', ms: WINDOW - 1_000 });
  });

  it("a name's own lockout applies even when it is spared the address's", () => {
    const { guard: g } = guard(3, 10);
    g.succeeded('A', 'bob');
    for (let i = 0; i < 3; i += 1) g.failed('A', 'bob');
    expect(g.lockedOut('A', 'bob')).toMatchObject({ scope: 'user' });
  });
});

describe('auth guard: bounds', () => {
  it('the 10,001st name evicts the oldest, and only it', () => {
    const { guard: g } = guard(1000, 1_000_000);
    for (let i = 0; i < TRACKED; i += 1) g.failed('A', `user${i}`);
    g.failed('A', 'one too many');
    expect(heldFailures(g, 'A', 'user0')).toBe(0);
    expect(heldFailures(g, 'A', 'user2')).toBe(1);
  });

  it('a name that fails again is the newest, not the oldest', () => {
    const { guard: g } = guard(1000, 1_000_000);
    for (let i = 0; i < TRACKED; i += 1) g.failed('A', `user${i}`);
    // user5 fails again: six new names later, the six oldest others are gone, not user5.
    g.failed('A', 'user5');
    for (let i = 0; i < 6; i += 1) g.failed('A', `new${i}`);
    expect(heldFailures(g, 'A', 'user5')).toBe(2);
    expect(heldFailures(g, 'A', 'user7')).toBe(1);
    expect(heldFailures(g, 'A', 'user6')).toBe(0);
  });

  it('the 10,001st address evicts the oldest', () => {
    const { guard: g } = guard(1000, 3);
    g.failed('10.0.0.1', 'a');
    g.failed('10.0.0.1', 'b');
    for (let i = 0; i < TRACKED - 1; i += 1) g.failed(`10.1.${i >> 8}.${i & 255}`, 'x');
    // Still counted: the third failure from 10.0.0.1 locks it out.
    g.failed('10.0.0.1', 'c');
    expect(g.lockedOut('10.0.0.1', 'd')).toMatchObject({ scope: 'address' });

    const { guard: h } = guard(1000, 3);
    h.failed('10.0.0.1', 'a');
    h.failed('10.0.0.1', 'b');
    for (let i = 0; i < TRACKED; i += 1) h.failed(`10.1.${i >> 8}.${i & 255}`, 'x');
    // Forgotten: this is its first failure again.
    h.failed('10.0.0.1', 'c');
    expect(h.lockedOut('10.0.0.1', 'd')).toBeUndefined();
  });

  it('stays bounded with many long names', () => {
    const { guard: g } = guard(3, 1_000_000);
    const long = 'x'.repeat(65_000);
    for (let i = 0; i < 12_000; i += 1) g.failed('A', `${i}${long}`);
    // The oldest names were forgotten, the newest are still counted.
    expect(g.failed('A', `11999${long}`)).toBe(500);
    expect(g.failed('A', `0${long}`)).toBe(250);
  });

  it('tells long names apart that differ only at the end', () => {
    const { guard: g } = guard(3, 1_000_000);
    const long = 'x'.repeat(65_000);
    for (let i = 0; i < 3; i += 1) g.failed('A', `${long}1`);
    expect(g.lockedOut('A', `${long}1`)).toMatchObject({ scope: 'user' });
    expect(g.lockedOut('A', `${long}2`)).toBeUndefined();
  });
});
